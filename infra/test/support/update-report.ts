// What a lane's `pulumi up` reports: the resources slowest to create, and,
// when it fails, the cause first. The Automation API's error carries the
// engine's whole output from its first line, and a CI log keeps the head of a
// long failure message: the one part that says why (Pulumi's "Diagnostics:"
// section, at the very end) was the part cut. So a failure leads with the
// diagnostics, then the resources still being created, then what the cluster
// held at that moment (pods that are not ready and why, the latest warnings),
// then the progress lines before the diagnostics.
import type { EngineEvent, Stack, UpResult } from "@pulumi/pulumi/automation";
import type { KubeApi } from "../../../scripts/local-cluster/kube-api";

type Pod = {
  metadata: { namespace: string; name: string };
  spec: { nodeName?: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
  };
};

type ContainerStatus = {
  name: string;
  ready: boolean;
  restartCount: number;
  state?: Record<string, { reason?: string; message?: string; exitCode?: number }>;
  lastState?: Record<string, { reason?: string; exitCode?: number }>;
};

type Event = {
  type: string;
  reason: string;
  message: string;
  count?: number;
  involvedObject: { kind: string; namespace?: string; name: string };
  lastTimestamp?: string;
  eventTime?: string;
};

/** Pulumi's "Diagnostics:" section of an update's output (without the summary after it), or "". */
export function diagnosticsOf(output: string): string {
  const start = output.lastIndexOf("\nDiagnostics:");
  if (start < 0) return "";
  const rest = output.slice(start + 1);
  const end = rest.search(/\n(Outputs|Resources):\n/);
  return (end < 0 ? rest : rest.slice(0, end)).trimEnd();
}

/** Seconds in a Go duration as Pulumi prints it ("0.06s", "25s", "1m5s"). */
function seconds(d: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?$/.exec(d);
  return m ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : Number.NaN;
}

/** Each created resource's last state in an update's output ("type name" -> state and seconds). */
function creations(output: string): Map<string, { state: string; seconds: number }> {
  const out = new Map<string, { state: string; seconds: number }>();
  const line = /^ \+\s+(\S+:\S+) (\S+) \**(creating failed|created|creating)\**(?: \(([^)]+)\))?/gm;
  for (const m of output.matchAll(line)) {
    out.set(`${m[1]} ${m[2]}`, { state: m[3] ?? "", seconds: m[4] ? seconds(m[4]) : 0 });
  }
  return out;
}

/**
 * The stack and the project's components (golive:*) are "creating" until all
 * their children are created: their times say nothing of their own.
 */
const isGroup = (resource: string) => /^(pulumi:pulumi:Stack|golive:)/.test(resource);

/** The n resources slowest to create, slowest first, as "type name Ns". */
export function slowestCreations(output: string, n: number): string[] {
  return [...creations(output)]
    .filter(([r, c]) => c.state === "created" && !isGroup(r))
    .sort((a, b) => b[1].seconds - a[1].seconds)
    .slice(0, n)
    .map(([r, c]) => `${r} ${c.seconds}s`);
}

/** Resources whose creation had begun and neither ended nor failed: what the update was waiting for. */
export function stillCreating(output: string): string[] {
  return [...creations(output)]
    .filter(([r, c]) => c.state === "creating" && !isGroup(r))
    .map(([r, c]) => `${r} (${c.seconds}s)`);
}

/** One line per pod that is not ready (or not done), with each container's state (init containers first) and last exit. */
export function unreadyPods(pods: Pod[]): string[] {
  const lines: string[] = [];
  for (const p of pods) {
    if (p.status?.phase === "Succeeded") continue;
    const ready = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    if (ready) continue;
    // Init containers first: a pod whose init container failed shows its
    // main containers as merely waiting.
    const statuses = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
    const containers = statuses.map((c) => {
      const [state, detail] = Object.entries(c.state ?? {})[0] ?? ["unknown", {}];
      const last = Object.entries(c.lastState ?? {})[0];
      const why = [detail.reason, detail.exitCode !== undefined ? `exit ${detail.exitCode}` : undefined]
        .filter(Boolean)
        .join(" ");
      const before = last ? `, last ${last[0]} ${last[1].reason ?? ""} exit ${last[1].exitCode ?? "?"}` : "";
      return `${c.name} ${state}${why ? ` (${why})` : ""}${c.ready ? " ready" : ""}, ${c.restartCount} restarts${before}`;
    });
    lines.push(
      `${p.metadata.namespace}/${p.metadata.name} on ${p.spec.nodeName ?? "no node"}: ${p.status?.phase ?? "?"}; ${
        containers.join("; ") || "no container started"
      }`,
    );
  }
  return lines;
}

/** The latest Warning events, oldest first. */
export function latestWarnings(events: Event[], limit: number): string[] {
  const at = (e: Event) => e.lastTimestamp ?? e.eventTime ?? "";
  return events
    .filter((e) => e.type === "Warning")
    .sort((a, b) => at(a).localeCompare(at(b)))
    .slice(-limit)
    .map(
      (e) =>
        `${at(e)} ${e.involvedObject.kind} ${e.involvedObject.namespace ?? ""}/${e.involvedObject.name} ${e.reason}${
          (e.count ?? 1) > 1 ? ` x${e.count}` : ""
        }: ${e.message.slice(0, 300)}`,
    );
}

/** What the cluster held when the update failed: unready pods and the latest warnings, all namespaces. */
async function clusterAtFailure(api: KubeApi): Promise<string> {
  try {
    const pods = await api.get<{ items: Pod[] }>("/api/v1/pods");
    const events = await api.get<{ items: Event[] }>("/api/v1/events");
    const unready = unreadyPods(pods.items);
    return [
      `pods not ready (${unready.length}):`,
      ...unready.map((l) => `  ${l}`),
      "latest warnings:",
      ...latestWarnings(events.items, 25).map((l) => `  ${l}`),
    ].join("\n");
  } catch (err) {
    return `the cluster could not be read: ${(err as Error).message}`;
  }
}

/**
 * The error a lane throws for a failed update: the diagnostics, what was
 * still being created, the cluster's state (when an API is given), the
 * output's last progress lines, and the command's own message, shortened,
 * last.
 */
export async function updateFailure(err: Error, log: string[], api?: KubeApi): Promise<Error> {
  const output = log.join("");
  const diagnostics = diagnosticsOf(output) || "(no Diagnostics section in the output)";
  const waiting = stillCreating(output);
  const creating = waiting.length ? `\nstill being created: ${waiting.join(", ")}` : "";
  const cluster = api ? `\n${await clusterAtFailure(api)}` : "";
  const firstLine =
    err.message.split("\n").find((l) => /Command failed/.test(l)) ?? err.message.split("\n")[0];
  // The progress lines before the summary (the diagnostics are above already).
  const cut = output.lastIndexOf("\nDiagnostics:");
  const progress = (cut < 0 ? output : output.slice(0, cut)).slice(-2500);
  return new Error(
    `pulumi up failed:\n${diagnostics}${creating}${cluster}\nthe output's last progress lines:\n${progress}\n${firstLine}`,
  );
}

/**
 * `stack.up` with its output appended to `log`; a failure is thrown as
 * updateFailure's report of this update's own output (not of what `log`
 * held before it).
 */
export async function upReported(
  stack: Stack,
  opts: { log: string[]; api?: KubeApi; onEvent?: (e: EngineEvent) => void },
): Promise<UpResult> {
  const own: string[] = [];
  const onOutput = (text: string) => {
    own.push(text);
    opts.log.push(text);
  };
  try {
    return await stack.up({ onOutput, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) });
  } catch (err) {
    throw await updateFailure(err as Error, own, opts.api);
  }
}
