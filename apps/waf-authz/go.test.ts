// The WAF service's own Go tests (authz_test.go: verdicts of the real engine
// and rules, DetectionOnly, a Check over a real gRPC connection), run by the
// suite so `npm test` covers the Go code too. Go caches a passing result
// until the sources change.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

test("go test ./... in apps/waf-authz", { timeout: 300_000 }, async () => {
  const { stdout } = await promisify(execFile)("go", ["test", "./..."], {
    cwd: path.join(__dirname),
    env: { ...process.env, GOFLAGS: "-buildvcs=false" },
  }).catch((err: { stdout?: string; stderr?: string }) => {
    throw new Error(`go test failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  });
  console.log(stdout.trim());
  assert.match(stdout, /^ok\s+golive-kit\/apps\/waf-authz/m);
});
