// The gateway as its image runs it, without Docker: the bundle that
// scripts/bundle-app.mjs makes for the image, started by plain node (no tsx)
// with the environment the runtime stage of apps/gateway/Dockerfile sets.
// For measurements where the loader or the TypeScript transform would skew
// the figures (memory); the functional tests run the sources through tsx.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startFeedProcess } from "./feed-process";
import { type GatewayProcess, gatewayLoopbackEnv, prepareDatabase } from "./gateway-process";
import { freePort, startTestPostgres } from "./postgres";
import { REPO_ROOT, type ServiceProcess, spawnService } from "./service-process";
import { workspaceClosure } from "./workspaces";

const DOCKERFILE = "apps/gateway/Dockerfile";

/** The ENV of the Dockerfile's last stage (the runtime image), as KEY=VALUE pairs. */
export function imageEnv(dockerfile = path.join(REPO_ROOT, DOCKERFILE)): Record<string, string> {
  const lines = fs.readFileSync(dockerfile, "utf8").split("\n");
  const lastFrom = lines.findLastIndex((l) => /^FROM\s/i.test(l.trim()));
  const env: Record<string, string> = {};
  for (const line of lines.slice(lastFrom)) {
    const match = /^ENV\s+(.*)$/i.exec(line.trim());
    if (!match?.[1]) continue;
    // `ENV A=1 B="x y"`, or the legacy `ENV A 1`.
    if (!match[1].includes("=")) {
      const [key = "", ...value] = match[1].split(/\s+/);
      env[key] = value.join(" ");
      continue;
    }
    for (const pair of match[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) {
      env[pair[1] as string] = pair[3] ?? (pair[2] as string);
    }
  }
  return env;
}

/** Bundles the gateway as the image build does; returns the entry file. */
export function bundleGateway(outdir: string): string {
  execFileSync(process.execPath, ["scripts/bundle-app.mjs", "gateway", outdir], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  return path.join(outdir, "main.js");
}

/**
 * Where the bundle's require()s are answered here: the image moves packages
 * npm nested under the gateway's workspaces up to its one node_modules
 * (scripts/flatten-workspace-modules.mjs), so those come before the root's.
 */
function modulePath(): string {
  return [...workspaceClosure("apps/gateway").dirs, "."]
    .map((dir) => path.join(REPO_ROOT, dir, "node_modules"))
    .filter((dir) => fs.existsSync(dir))
    .join(path.delimiter);
}

export interface ImageGatewayProcess extends GatewayProcess {
  /** Removes the bundle (call after the process has exited). */
  cleanup(): void;
}

export interface ImageGatewayOptions {
  execPath?: string;
  nodeArgs?: string[];
  /** Leave out the Dockerfile's ENV but NODE_ENV (a comparison with an older image). */
  withoutImageEnv?: boolean;
}

export async function startImageGateway(
  env: Record<string, string>,
  ports: { http: number; ops: number },
  opts: ImageGatewayOptions = {},
): Promise<ImageGatewayProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-gateway-image-"));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const entry = bundleGateway(dir);
    const proc = await spawnService({
      entry,
      execPath: opts.execPath,
      nodeArgs: opts.nodeArgs ?? [],
      cwd: dir,
      env: {
        ...(opts.withoutImageEnv ? { NODE_ENV: "production" } : imageEnv()),
        // The image's production install is node_modules beside dist/; here it is the repository's.
        NODE_PATH: modulePath(),
        ...gatewayLoopbackEnv(ports),
        ...env,
      },
      opsPort: ports.ops,
      probe: "live",
    });
    return { ...proc, url: `http://127.0.0.1:${ports.http}`, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** A running rig: the gateway, and a real user and video to aim requests at. */
export interface ImageGatewayRig {
  gateway: ImageGatewayProcess;
  target: { httpPort: number; userId: string; videoId: string };
  /** Kills the processes (waiting for each), removes the bundle and the database. */
  stop(): Promise<void>;
}

/**
 * A throwaway Postgres (migrated and seeded), one feed process and the gateway
 * as its image runs it, all on loopback: what the memory test and benchmark load.
 */
export async function startImageGatewayRig(
  opts: {
    feedEnv?: Record<string, string>;
    gatewayEnv?: Record<string, string>;
    gateway?: ImageGatewayOptions;
  } = {},
): Promise<ImageGatewayRig> {
  const pg = await startTestPostgres();
  const children: ServiceProcess[] = [];
  let gateway: ImageGatewayProcess | undefined;
  const stop = async () => {
    for (const { child } of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    gateway?.cleanup();
    pg.destroy();
  };
  try {
    const databaseUrl = pg.database("gateway_image");
    const { userIds, videoIds } = await prepareDatabase(databaseUrl);
    const feed = await startFeedProcess(
      { DATABASE_URL: databaseUrl, LOG_LEVEL: "warn", ...opts.feedEnv },
      { grpc: await freePort(), ops: await freePort() },
    );
    children.push(feed);
    gateway = await startImageGateway(
      { FEED_ADDRESS: `127.0.0.1:${feed.grpcPort}`, FEED_DEADLINE_MS: "2000", ...opts.gatewayEnv },
      { http: await freePort(), ops: await freePort() },
      opts.gateway,
    );
    children.push(gateway);
    const target = {
      httpPort: Number(new URL(gateway.url).port),
      userId: userIds[0] as string,
      videoId: videoIds[0] as string,
    };
    return { gateway, target, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
