// The gateway's memory under malformed traffic and WebSocket churn (issue 29).
// The gateway runs as its image runs it (the bundle under plain node, with the
// Dockerfile's ENV), in front of a real feed and Postgres, here where node sees
// no memory limit and V8 would size its heap from the whole machine. Rounds of
// malformed inputs and connect/disconnect cycles; RSS is sampled after each
// round once the process is idle, and polled during the rounds for the peak.
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { abuseRound } from "@golive/devkit/gateway-abuse";
import { type ImageGatewayRig, imageEnv, startImageGatewayRig } from "@golive/devkit/gateway-image";
import { type MemorySample, sampleMemory, watchPeakRss } from "@golive/devkit/process-memory";
import { REPO_ROOT, rawStackConfig } from "../../../infra/stack-files";
import { metricValue } from "./support/gateway";

const STACKS = fs.readdirSync(REPO_ROOT).flatMap((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1] ?? []);
const ROUNDS = 4;
const ROUND = { inputs: 6000, cycles: 1200, concurrency: 8 };
const MAX_PAYLOAD_BYTES = 8192;
/** "Well below the limit": the rest is for traffic heavier than this test's. */
const PEAK_SHARE_OF_LIMIT = 0.7;
/** RSS may still creep while the JIT compiles more code; a leak or a growing heap is more. */
const LATER_ROUNDS_GROWTH_MIB = 6;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The smallest resources.gateway.limits.memory of the stack files, in MiB (the unit of every figure here). */
function gatewayLimit(): { mib: number; stack: string } {
  const perUnit: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024 };
  const limits = STACKS.map((stack) => {
    const resources = rawStackConfig(stack).resources as { gateway: { limits: { memory: string } } };
    const [, value, unit] = /^(\d+)(Ki|Mi|Gi)$/.exec(resources.gateway.limits.memory) ?? [];
    return { mib: Number(value) * (perUnit[unit as string] ?? Number.NaN), stack };
  });
  assert.ok(limits.length > 0, "no Pulumi.<stack>.yaml found");
  return limits.reduce((a, b) => (b.mib < a.mib ? b : a));
}

/** A V8 flag's value in MiB from the image's NODE_OPTIONS, if set. */
function nodeOption(name: string): number | undefined {
  const match = new RegExp(`--${name}=(\\d+)`).exec(imageEnv().NODE_OPTIONS ?? "");
  return match ? Number(match[1]) : undefined;
}

describe("gateway memory under malformed traffic and WebSocket churn", { timeout: 180_000 }, () => {
  let rig: ImageGatewayRig | undefined;
  const samples: MemorySample[] = [];
  let peakMib = 0;
  let openSockets = Number.NaN;

  before(async () => {
    rig = await startImageGatewayRig({ gatewayEnv: { WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES) } });
    const { gateway, target } = rig;
    const pid = gateway.child.pid as number;
    const peak = watchPeakRss(pid);
    try {
      for (let round = 1; round <= ROUNDS; round += 1) {
        const counts = await abuseRound(target, ROUND, { maxPayloadBytes: MAX_PAYLOAD_BYTES, seed: round });
        assert.deepEqual(counts.unexpected, [], "every malformed input gets a 4xx or a close");
        await sleep(1000);
        samples.push(await sampleMemory(pid, gateway.opsPort));
      }
    } finally {
      peakMib = peak.stop();
    }
    openSockets = await metricValue(gateway.opsPort, "gateway_websocket_connections");
  });

  after(() => rig?.stop());

  test("RSS levels off well below the gateway's memory limit, and every socket is gone afterwards", (t) => {
    const limit = gatewayLimit();
    t.diagnostic(
      `RSS after each round (MiB): ${samples.map((s) => s.rssMib.toFixed(1)).join(" → ")}; peak ${peakMib.toFixed(1)}; ` +
        `heap committed ${samples.map((s) => s.heapTotalMib.toFixed(1)).join(" → ")}; limit ${limit.mib.toFixed(0)} MiB (${limit.stack})`,
    );
    assert.equal(samples.length, ROUNDS);
    assert.ok(
      peakMib <= limit.mib * PEAK_SHARE_OF_LIMIT,
      `peak RSS ${peakMib.toFixed(1)} MiB is over ${PEAK_SHARE_OF_LIMIT * 100}% of the ${limit.stack} limit ` +
        `(${limit.mib.toFixed(0)} MiB)`,
    );
    const second = samples[1] as MemorySample;
    const last = samples.at(-1) as MemorySample;
    assert.ok(
      last.rssMib - second.rssMib <= LATER_ROUNDS_GROWTH_MIB,
      `RSS still grows after the first round: ${second.rssMib.toFixed(1)} → ${last.rssMib.toFixed(1)} MiB`,
    );
    assert.equal(openSockets, 0, "gateway_websocket_connections back to 0");
  });

  test("the V8 heap the image allows, plus what lives outside the heap, fits the gateway's memory limit", (t) => {
    const limit = gatewayLimit();
    const semiSpace = nodeOption("max-semi-space-size");
    const oldSpace = nodeOption("max-old-space-size");
    assert.ok(
      semiSpace !== undefined && oldSpace !== undefined,
      "apps/gateway/Dockerfile sets --max-semi-space-size and --max-old-space-size in NODE_OPTIONS " +
        `(it sets ${JSON.stringify(imageEnv().NODE_OPTIONS ?? "")}): otherwise V8 sizes the heap from the memory it detects`,
    );
    // Young generation: two semi-spaces and a new large-object space of the
    // same size (what V8 reports as heap_size_limit with these flags).
    const heapCeiling = 3 * semiSpace + oldSpace;
    const last = samples.at(-1) as MemorySample;
    const outsideHeap = last.rssMib - last.heapTotalMib;
    t.diagnostic(
      `heap ceiling ${heapCeiling} MiB + measured outside the heap ${outsideHeap.toFixed(1)} MiB ` +
        `= ${(heapCeiling + outsideHeap).toFixed(1)} MiB; limit ${limit.mib.toFixed(0)} MiB (${limit.stack})`,
    );
    assert.ok(
      heapCeiling + outsideHeap <= limit.mib,
      `a full heap (${heapCeiling} MiB) and ${outsideHeap.toFixed(1)} MiB outside it exceed the ${limit.stack} limit`,
    );
  });
});
