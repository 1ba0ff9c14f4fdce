// Helpers for the feed tests: a typed gRPC client with promise calls, the
// service config for loopback, and the real service as a child process.

import { type FeedServiceClient, loadFeedProto } from "@golive/proto/loader";
import { HEALTH_PATHS } from "@golive/shared/contract";
import { parseEnv } from "@golive/shared/env";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { type ServiceProcess, spawnService } from "./service-process";

export { runProcess } from "./service-process";

import { type FeedConfig, feedConfigSchema } from "@golive/feed/config";

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
  opts: { deadlineMs?: number; metadata?: grpc.Metadata } = {},
): Promise<grpc.ServiceError> {
  try {
    await call(client, method, request, opts);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error(`${method} succeeded but was expected to fail`);
}

/** Opens StreamMessages and resolves once it is live, with the x-stream-since header it got. */
export async function openStream(client: FeedServiceClient, userId: string, since?: string) {
  const stream = client.StreamMessages({ userId, since: since ?? "" });
  const streamSince = await new Promise<string>((resolve, reject) => {
    stream.once("metadata", (headers) => resolve(String(headers.get("x-stream-since")[0] ?? "")));
    stream.once("error", reject);
  });
  return Object.assign(stream, { streamSince });
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
  const res = await fetch(`http://127.0.0.1:${opsPort}${HEALTH_PATHS.ready}`);
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

export interface FeedProcess extends ServiceProcess {
  grpcPort: number;
}

/** Runs apps/feed/src/main.ts as a real process and waits until it is ready. */
export async function startFeedProcess(
  env: Record<string, string>,
  ports: { grpc: number; ops: number },
): Promise<FeedProcess> {
  const proc = await spawnService({
    entry: "apps/feed/src/main.ts",
    env: {
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: String(ports.grpc),
      OPS_HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      ...env,
    },
    opsPort: ports.ops,
    probe: "ready",
  });
  return { ...proc, grpcPort: ports.grpc };
}
