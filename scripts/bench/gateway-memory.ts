// The gateway's RSS curve under issue 29's load: rounds of malformed inputs
// and WebSocket connect/disconnect cycles against the gateway as its image
// runs it (bundle, plain node, the Dockerfile's ENV), with a real feed and a
// throwaway Postgres on loopback. Prints RSS, heap and external memory after
// each round, once the process has been idle for a moment.
//   bash scripts/run-ts.sh scripts/bench/gateway-memory.ts [--rounds 8] [--inputs 10000]
//     [--cycles 2000] [--concurrency 8] [--node /path/to/node] [--env KEY=VALUE]... [--node-arg FLAG]...
//     [--without-image-env]   (the image before issue 29: no NODE_OPTIONS, no MALLOC_ARENA_MAX)
import { parseArgs } from "node:util";
import { abuseRound } from "@golive/devkit/gateway-abuse";
import { imageEnv, startImageGatewayRig } from "@golive/devkit/gateway-image";
import { type MemorySample, sampleMemory, watchPeakRss } from "@golive/devkit/process-memory";
import { cpuMs } from "./measure";

const MAX_PAYLOAD_BYTES = 8192;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "8" },
      inputs: { type: "string", default: "10000" },
      cycles: { type: "string", default: "2000" },
      concurrency: { type: "string", default: "8" },
      idle: { type: "string", default: "2000" },
      node: { type: "string" },
      env: { type: "string", multiple: true, default: [] },
      "node-arg": { type: "string", multiple: true, default: [] },
      "without-image-env": { type: "boolean", default: false },
    },
  });
  const rounds = Math.max(1, Number(values.rounds) || 8);
  const round = {
    inputs: Math.max(0, Number(values.inputs) || 0),
    cycles: Math.max(0, Number(values.cycles) || 0),
    concurrency: Math.max(1, Number(values.concurrency) || 8),
  };
  const extraEnv = Object.fromEntries(
    values.env.map((pair) => [pair.split("=")[0] as string, pair.split("=").slice(1).join("=")]),
  );

  const rig = await startImageGatewayRig({
    feedEnv: { DB_POOL_MAX: "10" },
    gatewayEnv: { WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES), ...extraEnv },
    gateway: {
      execPath: values.node,
      nodeArgs: values["node-arg"],
      withoutImageEnv: values["without-image-env"],
    },
  });
  try {
    const { gateway, target } = rig;
    const pid = gateway.child.pid as number;
    const version = await nodeVersion(values.node);
    console.log(
      `gateway on Node ${version}; image ENV ${values["without-image-env"] ? "left out" : JSON.stringify(imageEnv())}; ` +
        `extra env ${JSON.stringify(extraEnv)}, flags ${JSON.stringify(values["node-arg"])}; ` +
        `per round: ${round.inputs} malformed inputs, ${round.cycles} WebSocket cycles, ${round.concurrency} clients`,
    );
    // MiB, except the last two columns. rss is sampled once the process has
    // been idle for --idle ms; peak is the highest RSS seen during the round.
    console.log(
      "round     rss   peak   anon  lazyfree  heap used  committed  new space  external  seconds  cpu s",
    );
    const row = (label: string, s: MemorySample, took?: { seconds: number; cpu: number; peak: number }) => {
      const cells = [
        s.rssMib,
        took?.peak,
        s.anonymousMib,
        s.lazyFreeMib,
        s.heapUsedMib,
        s.heapTotalMib,
        s.newSpaceMib,
        s.externalMib,
        took?.seconds,
        took?.cpu,
      ].map((v, k) =>
        (v === undefined ? "-" : v.toFixed(1)).padStart([6, 6, 6, 9, 10, 10, 10, 9, 8, 6][k] as number),
      );
      console.log(`${label.padEnd(5)}${cells.join(" ")}`);
    };
    const idle = () => new Promise((r) => setTimeout(r, Number(values.idle) || 0));
    await idle();
    row("start", await sampleMemory(pid, gateway.opsPort));
    for (let r = 1; r <= rounds; r += 1) {
      const started = performance.now();
      const cpuBefore = cpuMs(pid);
      const peak = watchPeakRss(pid);
      const counts = await abuseRound(target, round, { maxPayloadBytes: MAX_PAYLOAD_BYTES, seed: r * 7919 });
      const took = {
        seconds: (performance.now() - started) / 1000,
        cpu: (cpuMs(pid) - cpuBefore) / 1000,
        peak: peak.stop(),
      };
      if (counts.unexpected.length > 0) console.log(`  unexpected answers: ${counts.unexpected.join("; ")}`);
      await idle();
      row(String(r), await sampleMemory(pid, gateway.opsPort), took);
    }
  } finally {
    await rig.stop();
  }
}

async function nodeVersion(node: string | undefined): Promise<string> {
  if (!node) return process.versions.node;
  const { execFileSync } = await import("node:child_process");
  return execFileSync(node, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`gateway-memory: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
