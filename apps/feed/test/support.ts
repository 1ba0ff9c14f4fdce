// Helpers for the feed tests: a typed gRPC client with promise calls, the
// service config for loopback, and the real service as a child process.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { parseEnv } from "../../shared/src/env";
import { type FeedServiceClient, loadFeedProto } from "../../shared/src/proto";
import { type FeedConfig, feedConfigSchema } from "../src/config";

export const REPO_ROOT = path.resolve(__dirname, "../../..");

export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): FeedConfig {
  return parseEnv(feedConfigSchema, {
    DATABASE_URL: databaseUrl,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    OPS_HOST: "127.0.0.1",
    OPS_PORT: "0",
    LOG_LEVEL: "silent",
    ...overrides,
  });
}

export function feedClient(port: number): FeedServiceClient {
  const proto = loadFeedProto();
  return new proto.feed.v1.FeedService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

type Callback<R> = (err: grpc.ServiceError | null, value?: R) => void;

/** Calls a unary method and resolves with the response or rejects with the ServiceError. */
export function call<Req, Res>(
  client: FeedServiceClient,
  method: "GetFeed" | "GetVideo" | "LikeVideo" | "SendMessage",
  request: Req,
  opts: { deadlineMs?: number; metadata?: grpc.Metadata } = {},
): Promise<Res> {
  const fn = client[method] as unknown as (
    req: Req,
    md: grpc.Metadata,
    options: grpc.CallOptions,
    cb: Callback<Res>,
  ) => void;
  return new Promise((resolve, reject) => {
    Reflect.apply(fn, client, [
      request,
      opts.metadata ?? new grpc.Metadata(),
      { deadline: Date.now() + (opts.deadlineMs ?? 10_000) },
      (err: grpc.ServiceError | null, value?: Res) => (err ? reject(err) : resolve(value as Res)),
    ]);
  });
}

/** Resolves with the rejection of a call that must fail. */
export async function callError<Req>(
  client: FeedServiceClient,
  method: "GetFeed" | "GetVideo" | "LikeVideo" | "SendMessage",
  request: Req,
  opts: { deadlineMs?: number } = {},
): Promise<grpc.ServiceError> {
  try {
    await call(client, method, request, opts);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error(`${method} succeeded but was expected to fail`);
}

export function healthCheck(port: number, service = ""): Promise<string> {
  const definition = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const check = client.check as (...args: unknown[]) => void;
  return new Promise((resolve, reject) => {
    check.call(
      client,
      { service },
      { deadline: Date.now() + 5_000 },
      (err: Error | null, res: { status: string }) => {
        client.close();
        return err ? reject(err) : resolve(res.status);
      },
    );
  });
}

export async function readiness(opsPort: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${opsPort}/health/ready`);
  return res.status;
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface FeedProcess {
  child: ChildProcess;
  grpcPort: number;
  opsPort: number;
  output(): string;
  exited: Promise<number | null>;
}

/** Runs apps/feed/src/main.ts as a real process and waits until it is ready. */
export async function startFeedProcess(env: Record<string, string>, ports: { grpc: number; ops: number }) {
  const child = spawn(process.execPath, ["--import", "tsx", "apps/feed/src/main.ts"], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: String(ports.grpc),
      OPS_HOST: "127.0.0.1",
      OPS_PORT: String(ports.ops),
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const proc: FeedProcess = { child, grpcPort: ports.grpc, opsPort: ports.ops, output: () => out, exited };
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await waitFor(`feed process on ${ports.grpc} to be ready`, async () => {
    if (gone) throw new Error(`feed process exited early: ${out}`);
    return (await readiness(ports.ops)) === 200;
  });
  return proc;
}

/** Runs a command to completion and returns its exit code and combined output. */
export function runProcess(
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: opts.timeoutMs ?? 60_000,
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("exit", (code) => resolve({ code, output }));
  });
}
