// `npm run cluster -- up [--dir <dir>] [--nodes N] [--real-node]` starts the
// local cluster (scripts/local-cluster/cluster.ts) in the background and
// prints how to use it; with --real-node it also builds the images
// (scripts/local-cluster/images.ts) and runs one real node that the app and
// load-test namespaces' pods are placed on. `npm run cluster -- down --dir
// <dir>` stops its processes by PID, removes what the real node changed on
// the machine, and removes the folder.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { type LocalClusterOptions, startLocalCluster, stopClusterDir } from "./local-cluster/cluster";
import { buildLocalImages, GOLIVE_CACHE } from "./local-cluster/images";

const DEFAULT_DIR = path.resolve(__dirname, "..", ".pulumi", "cluster");

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { dir: { type: "string" }, nodes: { type: "string" }, "real-node": { type: "boolean" } },
  });
  const dir = path.resolve(values.dir ?? DEFAULT_DIR);
  switch (positionals[0]) {
    case "up": {
      mkdirSync(dir, { recursive: true });
      const started = performance.now();
      let realNode: LocalClusterOptions["realNode"];
      if (values["real-node"]) {
        const images = await buildLocalImages({
          cacheDir: path.join(GOLIVE_CACHE, "images"),
          log: console.log,
        });
        realNode = {
          images: {
            pause: images.pause.ref,
            coredns: images.coredns.ref,
            tars: Object.values(images).map((i) => i.tar),
          },
        };
        for (const [key, img] of Object.entries(images)) console.log(`  image ${key}: ${img.ref}`);
      }
      const cluster = await startLocalCluster({
        dir,
        nodes: values.nodes ? Number(values.nodes) : undefined,
        timeoutSeconds: realNode ? 120 : undefined,
        realNode,
      });
      const s = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`local cluster up in ${s} s: ${cluster.server} (logs in ${path.join(dir, "logs")})`);
      console.log(`  export KUBECONFIG=${cluster.kubeconfig}`);
      console.log(
        `  npm run up -- --stack local --kubeconfig ${cluster.kubeconfig} --chart-mirror <charts folder>${cluster.realNode ? " --local-images" : ""}`,
      );
      if (cluster.realNode) {
        console.log(
          `  real node ${cluster.realNode.nodeIp} (netns ${cluster.realNode.netns}): pods of namespaces labelled golive.dev/role=app or loadtest run there`,
        );
      }
      console.log(`  npm run cluster -- down --dir ${dir}`);
      break;
    }
    case "down":
      await stopClusterDir(dir);
      console.log(`local cluster in ${dir} stopped`);
      break;
    default:
      console.error("usage: npm run cluster -- <up|down> [--dir <dir>] [--nodes N] [--real-node]");
      process.exit(2);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
