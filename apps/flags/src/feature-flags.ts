// Feature flags at run time: OpenFeature with the flagd provider in its
// in-process mode, reading a flag file (no flag server; pointing the provider
// at a flagd sync server stays an option). The deployer mounts the file from
// a ConfigMap rendered from golive:flags; the kubelet rewrites it in place, so
// a change needs no restart.
//
// flagd applies any file that parses, even one its schema rejects, and a flag
// it no longer finds falls back to the caller's default. So the provider does
// not read the mounted file itself: this module polls it, checks it
// (flags.ts, parseFlagFile) and hands a copy only of a file that passes to the
// provider's own file under /tmp. A bad file is refused with an error log
// line and a metric, and the last good flags stay.
//
// Flags carry no per-request context here (flags.ts refuses targeting), so
// they are evaluated once per change into a snapshot the request path reads
// without awaiting anything.
import { unwatchFile, watchFile } from "node:fs";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { envInt } from "@golive/shared/env";
import type { Logger } from "@golive/shared/logger";
import type { ServiceRegistry } from "@golive/shared/metrics";
import { FlagdProvider } from "@openfeature/flagd-provider";
import { type Client, NOOP_PROVIDER, OpenFeature, ProviderEvents } from "@openfeature/server-sdk";
import { Counter, Gauge } from "prom-client";
import { z } from "zod";
import {
  DEFAULT_FLAGS,
  type FaultInjection,
  FLAG_KEYS,
  FLAGS,
  FlagFileError,
  type FlagKey,
  type FlagValues,
  parseFlagFile,
} from "./flags";

export const featureFlagsEnvSchema = z.object({
  /** The flag file (the deployer's ConfigMap mount); unset, every flag keeps its default and nothing is read. */
  FLAGS_FILE: z
    .string()
    .optional()
    .transform((v) => v || undefined),
  /** How often the flag file is checked for a change. */
  FLAGS_POLL_MS: envInt(100, 60_000).default(1000),
  /** Whether failure-injection flags may leave their defaults (the deployer sets it from the stack). */
  FAULT_INJECTION: z.enum(["allowed", "refused"]).default("refused"),
});
export type FeatureFlagsEnv = z.infer<typeof featureFlagsEnvSchema>;

/**
 * The longest a change takes from the mounted file to the flags in force:
 * our poll finds it, then the provider's poll of its copy. flagd's file
 * source sets no interval of its own (Node's fs.watchFile default, 5,007 ms);
 * startFeatureFlags watches the copy first, at FLAGS_POLL_MS, and Node runs
 * one stat poller per file at the interval of its first watcher, so the
 * provider's poll takes ours. Should Node stop sharing it, changes take up to
 * 5 s longer and the reload tests fail on this bound.
 */
export const reloadBoundMs = (pollMs: number) => 2 * pollMs;

export interface FeatureFlags {
  /** The flags in force (the last good file, evaluated by the provider). */
  readonly current: FlagValues;
  close(): Promise<void>;
}

interface StartOptions {
  service: string;
  env: FeatureFlagsEnv;
  logger: Logger;
  registry: ServiceRegistry;
}

let domains = 0;

/** Starts the flags: refuses to start on a bad file (a pod that cannot know its kill switches must not serve). */
export async function startFeatureFlags({
  service,
  env,
  logger,
  registry,
}: StartOptions): Promise<FeatureFlags> {
  const metrics = flagMetrics(registry);
  const log = logger.child({ component: "feature-flags" });
  const source = env.FLAGS_FILE;
  if (!source) {
    metrics.show(DEFAULT_FLAGS);
    return { current: DEFAULT_FLAGS, close: async () => {} };
  }
  const first = await readChecked(source, env.FAULT_INJECTION);
  const dir = await mkdtemp(path.join(tmpdir(), "golive-flags-"));
  const served = path.join(dir, "flags.json");
  await writeFile(served, first.text);

  // First watcher of the copy: the provider's poll shares this one's interval (reloadBoundMs).
  watchFile(served, { interval: env.FLAGS_POLL_MS, persistent: false }, () => {});

  // A domain of its own: tests run several services in one process.
  const domain = `${service}-${++domains}`;
  const provider = new FlagdProvider(
    { resolverType: "in-process", offlineFlagSourcePath: served },
    providerLogger(log),
  );
  await OpenFeature.setProviderAndWait(domain, provider);
  const client = OpenFeature.getClient(domain);

  const state = { current: await evaluate(client, log), lastText: first.text, lastRefused: "" };
  metrics.show(state.current);
  log.info({ flags: state.current, file: source }, "feature flags loaded");

  client.addHandler(ProviderEvents.ConfigurationChanged, async (details) => {
    state.current = await evaluate(client, log);
    metrics.show(state.current);
    log.info({ flags: state.current, changed: details?.flagsChanged }, "feature flags changed");
  });

  const watcher = watchSource({ source, served, env, log, metrics, state });

  return {
    get current() {
      return state.current;
    },
    async close() {
      await watcher.stop();
      // Replacing it closes ours (the SDK closes a provider no domain uses).
      await OpenFeature.setProviderAndWait(domain, NOOP_PROVIDER);
      unwatchFile(served);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

type FlagMetrics = ReturnType<typeof flagMetrics>;

/**
 * Polls the mounted file; a changed file that passes the check is copied
 * over the provider's (write and rename: the provider never reads half a
 * file), one that fails is refused once, with its reason.
 */
function watchSource(w: {
  source: string;
  served: string;
  env: FeatureFlagsEnv;
  log: Logger;
  metrics: FlagMetrics;
  state: { lastText: string; lastRefused: string };
}) {
  const { source, served, env, log, metrics, state } = w;
  // One check at a time: a slow read never overlaps the next poll.
  let checking = Promise.resolve();
  const check = async () => {
    const text = await readFile(source, "utf8").catch((err: Error) => err);
    if (typeof text === "string" && text === state.lastText) {
      metrics.refused.set(0); // the file mounted is the one in force (again)
      return;
    }
    try {
      if (typeof text !== "string") throw new FlagFileError(`cannot read: ${text.message}`);
      parseFlagFile(text, env.FAULT_INJECTION);
      const next = `${served}.next`;
      await writeFile(next, text);
      await rename(next, served);
      state.lastText = text;
      state.lastRefused = "";
      metrics.reloads.inc({ result: "accepted" });
      metrics.refused.set(0);
      log.info({ file: source }, "feature flag file accepted: the provider applies it on its next poll");
    } catch (err) {
      const key = typeof text === "string" ? text : String(err);
      metrics.refused.set(1);
      if (key === state.lastRefused) return; // said once per bad file, not once per poll
      state.lastRefused = key;
      metrics.reloads.inc({ result: "refused" });
      log.error(
        { file: source, reason: (err as Error).message },
        "feature flag file refused: the last good flags stay",
      );
    }
  };
  watchFile(source, { interval: env.FLAGS_POLL_MS, persistent: false }, () => {
    checking = checking.then(check);
  });
  return {
    async stop() {
      unwatchFile(source);
      await checking;
    },
  };
}

async function readChecked(file: string, faultInjection: FaultInjection): Promise<{ text: string }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new FlagFileError(`FLAGS_FILE ${file}: cannot read: ${(err as Error).message}`);
  }
  try {
    parseFlagFile(text, faultInjection);
  } catch (err) {
    throw new FlagFileError(`FLAGS_FILE ${file}: ${(err as Error).message}`);
  }
  return { text };
}

/** Every flag through the provider; a flag it cannot resolve keeps its default and says why. */
async function evaluate(client: Client, log: Logger): Promise<FlagValues> {
  const values: Record<string, boolean | number> = {};
  for (const key of FLAG_KEYS) {
    const def = FLAGS[key];
    const details =
      def.type === "boolean"
        ? await client.getBooleanDetails(key, def.default)
        : await client.getNumberDetails(key, def.default);
    if (details.errorCode) log.warn({ flag: key, error: details.errorCode }, "feature flag kept its default");
    values[key] = details.value;
  }
  return values as unknown as FlagValues;
}

function flagMetrics(registry: ServiceRegistry) {
  const value = new Gauge({
    name: "golive_feature_flag_value",
    help: "Each feature flag's value in force: 1 on, 0 off, or the number it sets.",
    labelNames: ["flag"] as const,
    registers: [registry],
  });
  const reloads = new Counter({
    name: "golive_feature_flag_reloads_total",
    help: "Changed flag files, accepted or refused (a refused file leaves the last good flags in force).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  for (const result of ["accepted", "refused"]) reloads.inc({ result }, 0);
  const refused = new Gauge({
    name: "golive_feature_flag_file_refused",
    help: "1 while the mounted flag file is refused and older flags are in force (alert FeatureFlagFileRefused).",
    registers: [registry],
  });
  refused.set(0);
  return {
    reloads,
    refused,
    show(flags: FlagValues) {
      for (const key of FLAG_KEYS) value.set({ flag: key }, Number(flags[key as FlagKey]));
    },
  };
}

/** The provider's own messages, as our JSON log lines. */
function providerLogger(log: Logger) {
  const text = (args: unknown[]) => args.map(String).join(" ");
  return {
    error: (...args: unknown[]) => log.error({ provider: "flagd" }, text(args)),
    warn: (...args: unknown[]) => log.warn({ provider: "flagd" }, text(args)),
    info: (...args: unknown[]) => log.info({ provider: "flagd" }, text(args)),
    debug: (...args: unknown[]) => log.debug({ provider: "flagd" }, text(args)),
  };
}
