// The local stack's process manager never waits forever on a process that
// will not stop (a hung file once held CI open for minutes): kill() is bounded,
// SIGKILLs, and says which process it was.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { freePort } from "@golive/devkit/postgres";
import { startProcess } from "../local/processes";

test("kill() SIGKILLs a process that ignores SIGTERM after the bound, and names it", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-procs-"));
  try {
    const p = await startProcess({
      name: "deaf",
      entry: "loadtest/test/fixtures/deaf-to-sigterm.ts",
      env: {},
      opsPort: await freePort(),
      logFile: path.join(dir, "deaf.log"),
      killBoundMs: 1_000,
    });
    const began = Date.now();
    await assert.rejects(
      p.kill(),
      /deaf \(pid \d+\) still ran 1000 ms after SIGTERM; SIGKILLed[\s\S]*SIGTERM ignored/,
    );
    assert.ok(Date.now() - began < 10_000, "bounded");
    await p.kill(); // already gone: resolves at once
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
