import { defineRevocationSuite } from "./helpers/revocation-suite.ts";
import { defineAuthServiceSuite, type Backend } from "./helpers/suite.ts";

// DATABASE_URL unset: the default SQLite file under the (temporary) DATA_DIR.
const sqlite: Backend = { name: "sqlite", env: async () => ({}), cleanup: async () => undefined };
defineAuthServiceSuite(sqlite);
defineRevocationSuite(sqlite);
