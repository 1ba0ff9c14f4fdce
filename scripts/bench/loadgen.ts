// Runs the load generator (tools/loadgen, built by the setup script) against
// one target and reads back its figures, with the CPU each watched process
// used in the same window. The generator is a process of its own and reports
// its own CPU, so a row it bounds shows.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "@golive/devkit/service-process";
import { loadFeedProto } from "@golive/proto/loader";
import { z } from "zod";
import { cpuMs } from "./measure";
import { PAGE_SIZE } from "./stack";

const LOADGEN = path.join(REPO_ROOT, ".tools/bin/loadgen");

const reportSchema = z.object({
  requests: z.number(),
  errors: z.number(),
  seconds: z.number(),
  rps: z.number(),
  p50: z.number(),
  p95: z.number(),
  p99: z.number(),
  cpuMs: z.number(),
  errorSamples: z.array(z.string()),
});

export interface LoadResult {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  requests: number;
  errors: number;
  errorSamples: string[];
  seconds: number;
  /** CPU µs per answered request, by process label ("loadgen" included). */
  cpuUs: Record<string, number>;
  /** CPU in cores (CPU-seconds per second) over the window, by process label. */
  cpuCores: Record<string, number>;
}

export type Load =
  | { model: "closed"; concurrency: number }
  | { model: "open"; rate: number; maxInFlight?: number };

export interface Target {
  /** http://host:port (GET /v1/feed) or a gRPC host:port (GetFeed). */
  address: string;
  /** Processes whose CPU is counted, by label. */
  pids: Record<string, number>;
}

/** Files of requests for loadgen: paths for an HTTP target, encoded GetFeed messages for a gRPC one. */
export interface Requests {
  http: string;
  grpc: string;
}

/** One request per user: the gateway's GET path, or GetFeed's encoded message. */
export function writeRequests(dir: string, name: string, userIds: string[]): Requests {
  const encode = loadFeedProto().feed.v1.FeedService.service.GetFeed.requestSerialize;
  const http = path.join(dir, `${name}-http.txt`);
  const grpc = path.join(dir, `${name}-grpc.txt`);
  fs.writeFileSync(http, userIds.map((id) => `/v1/feed?userId=${id}&limit=${PAGE_SIZE}\n`).join(""));
  fs.writeFileSync(
    grpc,
    userIds
      .map((id) => `${encode({ userId: id, pageSize: PAGE_SIZE, cursor: "" }).toString("base64")}\n`)
      .join(""),
  );
  return { http, grpc };
}

function loadgenArgs(target: Target, requests: Requests, load: Load, seconds: number) {
  const isHttp = target.address.startsWith("http://");
  const args = [
    `-target=${isHttp ? target.address : `grpc://${target.address}`}`,
    `-requests=${isHttp ? requests.http : requests.grpc}`,
    `-duration=${seconds}s`,
    "-warmup=1s",
    `-mode=${load.model}`,
  ];
  if (!isHttp) args.push("-method=/feed.v1.FeedService/GetFeed");
  if (load.model === "closed") args.push(`-concurrency=${load.concurrency}`);
  else args.push(`-rate=${load.rate}`, `-max-in-flight=${load.maxInFlight ?? 2000}`);
  return args;
}

export async function runLoad(
  target: Target,
  requests: Requests,
  load: Load,
  seconds: number,
): Promise<LoadResult> {
  if (!fs.existsSync(LOADGEN)) throw new Error("loadgen not found in .tools/bin: run `npm run setup`");
  const child = spawn(LOADGEN, loadgenArgs(target, requests, load, seconds), {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b) => (stdout += b));
  child.stderr.on("data", (b) => (stderr += b));
  // The window opens after the generator's 1 s warm-up; reading /proc at the
  // same moments the generator opens and closes it is close enough at 5 s+.
  await new Promise((r) => setTimeout(r, 1000));
  const before = Object.fromEntries(Object.entries(target.pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const began = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = Object.fromEntries(
    Object.entries(target.pids).map(([k, pid]) => [k, cpuMs(pid) - (before[k] ?? 0)]),
  );
  const windowMs = performance.now() - began;
  const code = await new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.on("exit", resolve),
  );
  if (code !== 0) throw new Error(`loadgen exited ${code} on ${target.address}: ${stderr.slice(-1000)}`);
  const report = reportSchema.parse(JSON.parse(stdout));
  used.loadgen = report.cpuMs;
  const answered = Math.max(1, report.requests);
  return {
    rps: report.rps,
    p50: report.p50,
    p95: report.p95,
    p99: report.p99,
    requests: report.requests,
    errors: report.errors,
    errorSamples: report.errorSamples,
    seconds: report.seconds,
    cpuUs: Object.fromEntries(Object.entries(used).map(([k, ms]) => [k, (ms * 1000) / answered])),
    cpuCores: Object.fromEntries(Object.entries(used).map(([k, ms]) => [k, ms / windowMs])),
  };
}
