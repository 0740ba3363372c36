/**
 * The route file's JSON Schema, built from the format's one definition (route-file-format.ts)
 * and published as config/route-table.schema.json so editors complete and check route files.
 *
 * Draft-07, because Red Hat's YAML language server (VS Code's YAML extension and others) supports
 * JSON Schema 7 and below. The schema checks shape; the gateway's validator (route-table.ts) also checks
 * meaning: declared upstream names, `${NAME}` values, owner parameters, secrets, headers the
 * gateway owns, ambiguous and shadowing routes.
 */
import { fileURLToPath } from "node:url";
import {
  JWT_ONLY_FIELDS, MINT_FORMAT, RATE_LIMIT_FORMAT, ROUTE_FORMAT, ROUTE_TARGET_FIELDS, TOP_LEVEL_FORMAT, UPSTREAM_FORMAT, defaultInWords,
  type AnyObjectFormat, type FieldFormat, type JsonSchema,
} from "./route-file-format.ts";

export const ROUTE_TABLE_SCHEMA_FILE = fileURLToPath(new URL("../route-table.schema.json", import.meta.url));
/** A name, not an address: the schema is found by path (see config/README.md). */
export const ROUTE_TABLE_SCHEMA_ID = "urn:todo-auth-gateway:route-table";

export function buildRouteTableSchema(): JsonSchema {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: ROUTE_TABLE_SCHEMA_ID,
    ...objectSchema(TOP_LEVEL_FORMAT),
    definitions: {
      upstream: objectSchema(UPSTREAM_FORMAT),
      route: { ...objectSchema(ROUTE_FORMAT), allOf: routeRules() },
      mint: objectSchema(MINT_FORMAT),
      "rate-limit": objectSchema(RATE_LIMIT_FORMAT),
    },
  };
}

/** The schema file's text, exactly as committed. */
export function renderRouteTableSchema(): string {
  return `${JSON.stringify(buildRouteTableSchema(), null, 2)}\n`;
}

function objectSchema(format: AnyObjectFormat): JsonSchema {
  const fields = Object.entries(format.fields);
  return {
    title: format.title,
    description: format.description,
    type: "object",
    properties: Object.fromEntries(fields.map(([name, field]) => [name, { description: describe(field), ...field.schema }])),
    required: fields.filter(([, field]) => field.required).map(([name]) => name),
    additionalProperties: false,
  };
}

function describe(field: FieldFormat): string {
  return field.required ? `${field.meaning}. Required.` : `${field.meaning}. Default: ${defaultInWords(field)}.`;
}

/** Rules between a route's fields. */
function routeRules(): JsonSchema[] {
  return [
    {
      $comment: "Exactly one target.",
      oneOf: ROUTE_TARGET_FIELDS.map((field) => ({ required: [field] })),
    },
    {
      $comment: "A public route has no verified token to check or copy claims from.",
      if: { required: ["auth"], properties: { auth: { const: "none" } } },
      then: {
        properties: {
          ...Object.fromEntries(JWT_ONLY_FIELDS.map((field) => [field, false])),
          credentials: { not: { type: "object" } },
        },
      },
    },
    {
      $comment: "Only an upstream receives Authorization.",
      if: { not: { required: ["upstream"] } },
      then: { properties: { credentials: false } },
    },
  ];
}
