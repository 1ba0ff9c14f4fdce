// The flag file check (flags.ts) and the run-time flags (feature-flags.ts)
// through the real OpenFeature SDK and flagd provider, reading files in a
// temporary folder: a change is in force within the reload bound, a bad
// file is refused with a reason and the last good flags stay.
import assert from "node:assert/strict";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { createLogger } from "@golive/shared/logger";
import { createServiceRegistry } from "@golive/shared/metrics";
import { reloadBoundMs, startFeatureFlags } from "../src/feature-flags";
import { DEFAULT_FLAGS, FLAG_KEYS, type FlagValues, parseFlagFile, renderFlagFile } from "../src/flags";

const POLL_MS = 200;

function flagFile(change: (json: { flags: Record<string, Record<string, unknown>> }) => void): string {
  const json = JSON.parse(renderFlagFile(DEFAULT_FLAGS));
  change(json);
  return JSON.stringify(json);
}

test("flags: the rendered file parses back to the values it was made from", () => {
  const values: FlagValues = {
    "likes-writes": false,
    messages: true,
    "getfeed-added-latency-ms": 250,
    "getfeed-error-share": 0.25,
  };
  assert.deepEqual(parseFlagFile(renderFlagFile(values), "allowed"), values);
  assert.deepEqual(parseFlagFile(renderFlagFile(DEFAULT_FLAGS), "refused"), DEFAULT_FLAGS);
});

test("flags: a bad file is refused with the flag and the reason", () => {
  const cases: [string, string, RegExp][] = [
    ["not JSON", "{", /^not JSON/],
    ["no flags", "{}", /^flags: /],
    ["missing flag", flagFile((j) => delete j.flags.messages), /^flags\.messages: missing/],
    [
      "typo",
      flagFile((j) => {
        j.flags["like-writes"] = j.flags["likes-writes"] as Record<string, unknown>;
      }),
      /^flags\.like-writes: not a flag of this kit/,
    ],
    [
      "variant absent",
      flagFile((j) => {
        (j.flags["likes-writes"] as Record<string, unknown>).defaultVariant = "of";
      }),
      /^flags\.likes-writes\.defaultVariant: "of" is not one of its variants/,
    ],
    [
      "wrong type",
      flagFile((j) => {
        (j.flags.messages as Record<string, unknown>).variants = { on: "yes", off: false };
      }),
      /^flags\.messages\.variants\.on: must be a boolean/,
    ],
    [
      "out of range",
      flagFile((j) => {
        (j.flags["getfeed-error-share"] as Record<string, unknown>).variants = { value: 1.5 };
      }),
      /^flags\.getfeed-error-share\.variants\.value: must be between 0 and 1/,
    ],
    [
      "targeting",
      flagFile((j) => {
        (j.flags.messages as Record<string, unknown>).targeting = { if: [true, "on", "off"] };
      }),
      /^flags\.messages\.targeting: not supported/,
    ],
    [
      "bad state",
      flagFile((j) => {
        (j.flags.messages as Record<string, unknown>).state = "ON";
      }),
      /^flags\.messages\.state: /,
    ],
  ];
  for (const [name, text, message] of cases) {
    assert.throws(() => parseFlagFile(text, "allowed"), { message }, name);
  }
});

test("flags: fault flags off their defaults are refused where injection is refused", () => {
  const text = renderFlagFile({ ...DEFAULT_FLAGS, "getfeed-added-latency-ms": 100 });
  assert.throws(() => parseFlagFile(text, "refused"), {
    message: /^flags\.getfeed-added-latency-ms: failure injection is refused here/,
  });
  assert.equal(parseFlagFile(text, "allowed")["getfeed-added-latency-ms"], 100);
  // A DISABLED flag is its default, whatever its variants say.
  const disabled = flagFile((j) => {
    j.flags["getfeed-error-share"] = { state: "DISABLED", variants: { value: 0.5 }, defaultVariant: "value" };
  });
  assert.equal(parseFlagFile(disabled, "refused")["getfeed-error-share"], 0);
});

// The run-time part: real files, the real provider.
let dir = "";
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "golive-flags-test-"));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Replaces the file the way the kubelet does: a new file moved over the old, never a half-written one. */
async function publish(file: string, text: string) {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

async function until<T>(
  what: string,
  boundMs: number,
  probe: () => T | undefined,
): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  for (;;) {
    const value = probe();
    const ms = performance.now() - started;
    if (value !== undefined) return { value, ms };
    if (ms > boundMs) throw new Error(`${what}: not within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function start(file: string | undefined, faultInjection: "allowed" | "refused" = "allowed") {
  const lines: string[] = [];
  const logger = createLogger("test", "info", { write: (s: string) => lines.push(s) });
  const registry = createServiceRegistry();
  const env = { FLAGS_FILE: file, FLAGS_POLL_MS: POLL_MS, FAULT_INJECTION: faultInjection } as const;
  return { lines, registry, flags: startFeatureFlags({ service: "test", env, logger, registry }) };
}

test("feature flags: no file, every flag at its default", async () => {
  const { flags } = start(undefined);
  assert.deepEqual((await flags).current, DEFAULT_FLAGS);
});

test("feature flags: a change is in force within the reload bound; a bad file is refused and the last good flags stay", async () => {
  const file = path.join(dir, "reload.json");
  await publish(file, renderFlagFile(DEFAULT_FLAGS));
  const { flags: starting, lines, registry } = start(file);
  const flags = await starting;
  try {
    assert.deepEqual(flags.current, DEFAULT_FLAGS);

    await publish(
      file,
      renderFlagFile({ ...DEFAULT_FLAGS, "likes-writes": false, "getfeed-error-share": 0.5 }),
    );
    const flipped = await until("likes-writes off", reloadBoundMs(POLL_MS) + 1000, () =>
      flags.current["likes-writes"] === false ? flags.current : undefined,
    );
    assert.equal(flipped.value["getfeed-error-share"], 0.5);
    console.log(`# flip in force after ${Math.round(flipped.ms)} ms (bound ${reloadBoundMs(POLL_MS)} ms)`);

    const good = flags.current;
    await publish(
      file,
      flagFile((j) => delete j.flags.messages),
    );
    await until("refusal logged", reloadBoundMs(POLL_MS) + 1000, () =>
      lines.find((l) => l.includes("feature flag file refused")),
    );
    // Past a provider poll: nothing of the bad file reached the flags in force.
    await new Promise((r) => setTimeout(r, 2 * reloadBoundMs(POLL_MS)));
    assert.deepEqual(flags.current, good);
    const refused = JSON.parse(lines.find((l) => l.includes("feature flag file refused")) as string);
    assert.equal(refused.level, "error");
    assert.match(refused.reason, /^flags\.messages: missing/);
    assert.equal(lines.filter((l) => l.includes("feature flag file refused")).length, 1, "once per bad file");
    const metrics = await registry.metrics();
    assert.match(metrics, /golive_feature_flag_reloads_total\{result="refused"\} 1/);
    assert.match(metrics, /golive_feature_flag_value\{flag="likes-writes"\} 0/);
    assert.match(metrics, /golive_feature_flag_file_refused 1/);

    // A good file after the bad one is taken again.
    await publish(file, renderFlagFile(DEFAULT_FLAGS));
    await until("back to defaults", reloadBoundMs(POLL_MS) + 1000, () =>
      flags.current["likes-writes"] ? true : undefined,
    );
    assert.deepEqual(flags.current, DEFAULT_FLAGS);
    assert.match(await registry.metrics(), /golive_feature_flag_file_refused 0/);
  } finally {
    await flags.close();
  }
});

test("feature flags: a bad file at start is an error naming the file and the flag", async () => {
  const file = path.join(dir, "bad-at-start.json");
  await publish(file, renderFlagFile({ ...DEFAULT_FLAGS, "getfeed-error-share": 0.1 }));
  await assert.rejects(start(file, "refused").flags, (err: Error) => {
    assert.match(
      err.message,
      new RegExp(`^FLAGS_FILE ${file}: flags\\.getfeed-error-share: failure injection is refused`),
    );
    return true;
  });
  await assert.rejects(start(path.join(dir, "absent.json")).flags, /cannot read/);
});

test("feature flags: every key has a gauge", async () => {
  const { flags, registry } = start(undefined);
  await flags;
  const metrics = await registry.metrics();
  for (const key of FLAG_KEYS)
    assert.match(metrics, new RegExp(`golive_feature_flag_value\\{flag="${key}"\\}`));
});
