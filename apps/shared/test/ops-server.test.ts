import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { buildInfo } from "../src/build-info";
import { startOpsServer } from "../src/ops-server";

const BUILD = { version: "1.4.2", commit: "0123456789abcdef0123456789abcdef01234567" };

test("readiness fails when any check fails, a warning does not, and its body names each check", async () => {
  const checks: Record<string, boolean | "pass" | "warn" | "fail"> = { database: true, shutdown: true };
  const ops = await startOpsServer({
    host: "127.0.0.1",
    port: 0,
    registry: new Registry(),
    readiness: { checks: () => ({ ...checks }) },
    build: BUILD,
  });
  try {
    const probe = async () => {
      const res = await fetch(`http://127.0.0.1:${ops.port}/health/ready`);
      return { status: res.status, body: await res.json() };
    };
    assert.deepEqual(await probe(), {
      status: 200,
      body: { status: "ready", checks: { database: "pass", shutdown: "pass" }, ...BUILD },
    });
    checks.database = false;
    assert.deepEqual(await probe(), {
      status: 503,
      body: { status: "not ready", checks: { database: "fail", shutdown: "pass" }, ...BUILD },
    });
    checks.database = "pass";
    checks.worker = "warn";
    assert.deepEqual(await probe(), {
      status: 200,
      body: { status: "ready", checks: { database: "pass", shutdown: "pass", worker: "warn" }, ...BUILD },
    });
    checks.worker = "fail";
    assert.equal((await probe()).status, 503);
  } finally {
    await ops.close();
  }
});

test("/health and /health/live answer JSON with the running build; /metrics has golive_build_info", async () => {
  const registry = new Registry();
  let ready = true;
  const ops = await startOpsServer({
    host: "127.0.0.1",
    port: 0,
    registry,
    readiness: { checks: () => ({ database: ready }) },
    build: BUILD,
  });
  try {
    const get = async (p: string) => {
      const res = await fetch(`http://127.0.0.1:${ops.port}${p}`);
      assert.equal(res.headers.get("content-type"), "application/json", p);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const live = await get("/health/live");
    assert.equal(live.status, 200);
    assert.equal(live.body.status, "live");
    assert.equal(typeof live.body.uptimeSeconds, "number");
    assert.equal(live.body.version, BUILD.version);
    assert.equal(live.body.commit, BUILD.commit);
    assert.deepEqual(await get("/health"), {
      status: 200,
      body: { status: "ready", checks: { database: "pass" }, ...BUILD },
    });
    ready = false;
    assert.equal((await get("/health")).status, 503, "/health is readiness");
    const metrics = await (await fetch(`http://127.0.0.1:${ops.port}/metrics`)).text();
    assert.match(metrics, /golive_build_info\{version="1\.4\.2",commit="0123456789abcdef[0-9a-f]+"\} 1/);
  } finally {
    await ops.close();
  }
});

test("the build stamp comes from GOLIVE_VERSION and GOLIVE_COMMIT; unstamped is dev/unknown", () => {
  assert.deepEqual(buildInfo({ GOLIVE_VERSION: "0.3.0", GOLIVE_COMMIT: "abc" }), {
    version: "0.3.0",
    commit: "abc",
  });
  assert.deepEqual(buildInfo({}), { version: "dev", commit: "unknown" });
});
