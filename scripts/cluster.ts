// `npm run cluster -- up [--dir <dir>] [--nodes N]` starts the local cluster
// (scripts/local-cluster/cluster.ts) in the background and prints how to use
// it; `npm run cluster -- down --dir <dir>` stops its processes by PID and
// removes the folder.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { startLocalCluster, stopClusterDir } from "./local-cluster/cluster";

const DEFAULT_DIR = path.resolve(__dirname, "..", ".pulumi", "cluster");

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { dir: { type: "string" }, nodes: { type: "string" } },
  });
  const dir = path.resolve(values.dir ?? DEFAULT_DIR);
  switch (positionals[0]) {
    case "up": {
      mkdirSync(dir, { recursive: true });
      const started = performance.now();
      const cluster = await startLocalCluster({
        dir,
        nodes: values.nodes ? Number(values.nodes) : undefined,
      });
      const s = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`local cluster up in ${s} s: ${cluster.server} (logs in ${path.join(dir, "logs")})`);
      console.log(`  export KUBECONFIG=${cluster.kubeconfig}`);
      console.log(
        `  npm run up -- --stack local --kubeconfig ${cluster.kubeconfig} --chart-mirror <charts folder>`,
      );
      console.log(`  npm run cluster -- down --dir ${dir}`);
      break;
    }
    case "down":
      await stopClusterDir(dir);
      console.log(`local cluster in ${dir} stopped`);
      break;
    default:
      console.error("usage: npm run cluster -- <up|down> [--dir <dir>] [--nodes N]");
      process.exit(2);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
