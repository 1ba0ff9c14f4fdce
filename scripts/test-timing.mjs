// A node:test reporter that prints nothing while tests run and, at the end,
// each test file's wall time on one line ("file<TAB>ms"), for scripts/test.sh
// to rank. Files are the top-level tests when each file runs in its own process.
import path from "node:path";

export default async function* timingReporter(source) {
  const files = new Map();
  for await (const event of source) {
    if ((event.type === "test:pass" || event.type === "test:fail") && event.data.nesting === 0) {
      const file = event.data.file ?? event.data.name;
      files.set(file, (files.get(file) ?? 0) + (event.data.details?.duration_ms ?? 0));
    }
  }
  for (const [file, ms] of files) yield `${path.relative(process.cwd(), file)}\t${Math.round(ms)}\n`;
}
