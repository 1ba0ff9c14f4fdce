// `npm run drill`: the go-live drill on this machine (see loadtest/local/drill.ts).
// Exit code is the verdict: 0 pass, 1 fail, 2 usage error.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { DEFAULTS, type Profile, runDrill, startK6 } from "../loadtest/local/drill";
import { formatTable, readK6Points } from "../loadtest/local/report";

const USAGE = `usage: npm run drill -- [--profile smoke|load|soak] [--no-chaos]
       npm run drill -- --gateway-url URL --feed-addrs HOST:PORT[,...] [--profile P] [--allow-non-loopback]

Without targets: starts a throwaway Postgres, two feed processes and a gateway
on loopback, runs the k6 drill (loadtest/drill.js) with a chaos step that kills
one feed process mid-run, prints the verdict and a table, and cleans up.
With targets: runs only k6 against a stack that is already running (no chaos;
in a cluster use \`npm run loadtest:trigger\`). Targets must be loopback
addresses unless --allow-non-loopback is given: this is a load generator.`;

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const profile = args.profile as Profile;
  if (!(profile in DEFAULTS)) {
    console.error(`--profile must be smoke, load or soak; got ${profile}\n${USAGE}`);
    return 2;
  }
  if (args["gateway-url"] || args["feed-addrs"]) {
    if (!args["gateway-url"] || !args["feed-addrs"]) {
      console.error(`--gateway-url and --feed-addrs go together\n${USAGE}`);
      return 2;
    }
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-drill-"));
    let run: ReturnType<typeof startK6>;
    try {
      run = startK6({
        profile,
        gatewayUrl: args["gateway-url"],
        feedGrpcAddrs: args["feed-addrs"],
        workDir,
        allowNonLoopback: args["allow-non-loopback"],
      });
    } catch (err) {
      console.error((err as Error).message);
      return 2;
    }
    const { exitCode, output } = await run.done;
    console.log(output.trim());
    console.log(`\n${formatTable(await readK6Points(run.pointsFile))}`);
    console.log(`\ndrill verdict: ${exitCode === 0 ? "PASS" : "FAIL"} (k6 exit ${exitCode})`);
    return exitCode === 0 ? 0 : 1;
  }
  const defaults = DEFAULTS[profile];
  const result = await runDrill({
    profile,
    ...defaults,
    chaosAtSeconds: args["no-chaos"] ? 0 : defaults.chaosAtSeconds,
  });
  console.log(result.k6Summary.trim());
  console.log(`\n${result.table}`);
  if (!result.recovered) console.log("chaos: the killed replica did not recover within the bound");
  console.log(
    `\ndrill verdict: ${result.passed ? "PASS" : "FAIL"} (k6 exit ${result.k6ExitCode}; logs in ${result.workDir})`,
  );
  return result.passed ? 0 : 1;
}

function parse() {
  return parseArgs({
    options: {
      profile: { type: "string", default: "smoke" },
      "no-chaos": { type: "boolean", default: false },
      "gateway-url": { type: "string" },
      "feed-addrs": { type: "string" },
      "allow-non-loopback": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }).values;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`drill: ${(err as Error).message}`);
    process.exit(1);
  },
);
