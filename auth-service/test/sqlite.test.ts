import { defineAuthServiceSuite } from "./helpers/suite.ts";

// DATABASE_URL unset: the default SQLite file under the (temporary) DATA_DIR.
defineAuthServiceSuite({ name: "sqlite", env: async () => ({}), cleanup: async () => undefined });
