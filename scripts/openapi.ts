// Writes docs/openapi.json from the gateway's API table (apps/gateway/src/api.ts):
//   npm run openapi
// apps/gateway/test/openapi.test.ts fails while the committed file and the table differ.
import fs from "node:fs";
import path from "node:path";
import { openApiText } from "@golive/gateway/openapi";

const file = path.join(__dirname, "..", "docs", "openapi.json");
fs.writeFileSync(file, openApiText());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
