import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { startOpsServer } from "../src/ops-server";

test("readiness fails when any check fails, a warning does not, and its body names each check", async () => {
  const checks: Record<string, boolean | "pass" | "warn" | "fail"> = { database: true, shutdown: true };
  const ops = await startOpsServer({
    host: "127.0.0.1",
    port: 0,
    registry: new Registry(),
    readiness: { checks: () => ({ ...checks }) },
  });
  try {
    const probe = async () => {
      const res = await fetch(`http://127.0.0.1:${ops.port}/health/ready`);
      return { status: res.status, body: await res.json() };
    };
    assert.deepEqual(await probe(), {
      status: 200,
      body: { status: "ready", checks: { database: "pass", shutdown: "pass" } },
    });
    checks.database = false;
    assert.deepEqual(await probe(), {
      status: 503,
      body: { status: "not ready", checks: { database: "fail", shutdown: "pass" } },
    });
    checks.database = "pass";
    checks.worker = "warn";
    assert.deepEqual(await probe(), {
      status: 200,
      body: { status: "ready", checks: { database: "pass", shutdown: "pass", worker: "warn" } },
    });
    checks.worker = "fail";
    assert.equal((await probe()).status, 503);
  } finally {
    await ops.close();
  }
});
