/**
 * `npm run schema -w config`: rewrites config/route-table.schema.json and the field tables of
 * config/README.md from the format's one definition (route-file-format.ts). Run it after
 * changing the definition and commit the result; a test fails while either is out of date.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { CONFIG_README_FILE, updateReadmeTables } from "./route-file-docs.ts";
import { ROUTE_TABLE_SCHEMA_FILE, renderRouteTableSchema } from "./route-file-schema.ts";

writeFileSync(ROUTE_TABLE_SCHEMA_FILE, renderRouteTableSchema());
writeFileSync(CONFIG_README_FILE, updateReadmeTables(readFileSync(CONFIG_README_FILE, "utf8")));
console.log(`wrote ${ROUTE_TABLE_SCHEMA_FILE}\nwrote the field tables of ${CONFIG_README_FILE}`);
