// The services' stdout is written in batches (logger.ts): a quiet process's
// last line still shows within the flush interval, and nothing is lost when
// the process exits at once.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";

const FIXTURE = path.join(__dirname, "fixtures/log-lines.ts");

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const started = performance.now();
  let out = "";
  let firstAt: number | undefined;
  child.stdout.on("data", (chunk) => {
    out += chunk;
    firstAt ??= performance.now() - started;
  });
  return new Promise<{ lines: { i: number }[]; firstAt?: number; closedAt: number; code: number | null }>(
    (resolve) =>
      child.on("close", (code) =>
        resolve({
          lines: out
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l)),
          firstAt,
          closedAt: performance.now() - started,
          code,
        }),
      ),
  );
}

test("a single line is written before the process exits, though it fills no batch", async () => {
  const { lines, firstAt, closedAt, code } = await run({ LINES: "1" });
  assert.equal(code, 0);
  assert.deepEqual(
    lines.map((l) => l.i),
    [0],
  );
  // The process stays up 1 s after logging and the flush interval is 200 ms:
  // a line held until the exit would arrive with the close.
  assert.ok(
    firstAt !== undefined && closedAt - firstAt > 400,
    `line at ${firstAt} ms, exit at ${closedAt} ms`,
  );
});

test("every line logged before an immediate process.exit reaches stdout, in order", async () => {
  const { lines, code } = await run({ LINES: "5000", EXIT: "now" });
  assert.equal(code, 0);
  assert.equal(lines.length, 5000);
  assert.deepEqual(
    lines.map((l) => l.i),
    Array.from({ length: 5000 }, (_, i) => i),
  );
});
