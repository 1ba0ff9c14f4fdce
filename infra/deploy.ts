// `npm run up|preview|destroy|outputs -- --stack <name>`: the real Pulumi
// engine and providers on this program, through the Automation API (see
// automation.ts), against the local cluster (`npm run cluster -- up`) or any
// kubeconfig. Exit code 0 on success; `preview --expect-no-changes` fails on
// any pending change.
import path from "node:path";
import { parseArgs } from "node:util";
import { buildLocalImages, GOLIVE_CACHE, stackImageOverrides } from "../scripts/local-cluster/images";
import { selectStack } from "./automation";

const USAGE = `usage: tsx infra/deploy.ts <up|preview|destroy|outputs> --stack <name>
  [--kubeconfig <file>] [--chart-mirror <folder|oci://...>] [--work-dir <dir>] [--expect-no-changes]
  [--local-images]   run the images built here (npm run cluster -- up --real-node) instead of the stack file's`;

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      stack: { type: "string" },
      kubeconfig: { type: "string" },
      "chart-mirror": { type: "string" },
      "work-dir": { type: "string" },
      "expect-no-changes": { type: "boolean", default: false },
      "local-images": { type: "boolean", default: false },
    },
  });
  const command = positionals[0];
  if (!values.stack || !command || !["up", "preview", "destroy", "outputs"].includes(command)) {
    console.error(USAGE);
    process.exit(2);
  }
  const stack = await selectStack({
    stack: values.stack,
    kubeconfig: values.kubeconfig,
    chartMirror: values["chart-mirror"],
    workDir: values["work-dir"],
    // The same cached builds the cluster imported (a no-op rebuild when nothing changed).
    images: values["local-images"]
      ? stackImageOverrides(await buildLocalImages({ cacheDir: path.join(GOLIVE_CACHE, "images") }))
      : undefined,
  });
  const onOutput = (text: string) => process.stdout.write(text);
  const started = performance.now();
  const took = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  switch (command) {
    case "up": {
      const res = await stack.up({ onOutput });
      console.log(`up: ${JSON.stringify(res.summary.resourceChanges)} in ${took()}`);
      break;
    }
    case "preview": {
      const res = await stack.preview({ onOutput, expectNoChanges: values["expect-no-changes"] });
      console.log(`preview: ${JSON.stringify(res.changeSummary)} in ${took()}`);
      break;
    }
    case "destroy": {
      const res = await stack.destroy({ onOutput });
      console.log(`destroy: ${JSON.stringify(res.summary.resourceChanges)} in ${took()}`);
      break;
    }
    case "outputs": {
      const outputs = await stack.outputs();
      const plain = Object.fromEntries(
        Object.entries(outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]),
      );
      console.log(JSON.stringify(plain, null, 2));
      break;
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
