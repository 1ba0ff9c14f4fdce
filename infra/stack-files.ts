// Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to the program:
// keys stay namespaced (`golive:images`), objects become JSON strings. Used by
// the render command and the tests, which run without the CLI.
import { readFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { CONFIG_NAMESPACE } from "./config";

export const REPO_ROOT = path.resolve(__dirname, "..");

export interface StackFile {
  /** Values as the Pulumi runtime stores them: strings, objects JSON-encoded. */
  config: Record<string, string>;
  /** Keys given as `secure:` values (ciphertext that only the CLI can decrypt). */
  secureKeys: string[];
}

export function readStackFile(stack: string, root = REPO_ROOT): StackFile {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  const doc = YAML.parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const config: Record<string, string> = {};
  const secureKeys: string[] = [];
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    if (value !== null && typeof value === "object" && "secure" in value) {
      secureKeys.push(key);
      continue;
    }
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { config, secureKeys };
}

/** Fields merged over a stack's object keys: key without the golive: prefix -> fields. */
export type StackSettings = Record<string, Record<string, unknown>>;

/**
 * A stack file's config with `settings` merged over its object keys, for one
 * workspace or render only (the file keeps its values): the lanes' chart
 * mirror, local images and drill settings.
 */
export function withSettings(
  config: Record<string, string>,
  settings: StackSettings,
): Record<string, string> {
  const out = { ...config };
  for (const [key, fields] of Object.entries(settings)) {
    const current = out[`${CONFIG_NAMESPACE}:${key}`];
    const base = current ? (JSON.parse(current) as Record<string, unknown>) : {};
    out[`${CONFIG_NAMESPACE}:${key}`] = JSON.stringify({ ...base, ...fields });
  }
  return out;
}

/**
 * The plain object parseStackConfig expects: the `golive:` keys, prefix
 * dropped, JSON decoded (other namespaces, the provider's `kubernetes:`
 * settings, are the provider's; the program checks those it relies on).
 */
export function rawStackConfig(stack: string, root = REPO_ROOT): Record<string, unknown> {
  return rawConfig(readStackFile(stack, root).config);
}

/** rawStackConfig of a config map already read (and perhaps given settings). */
export function rawConfig(config: Record<string, string>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (!key.startsWith(`${CONFIG_NAMESPACE}:`)) continue;
    const short = key.slice(CONFIG_NAMESPACE.length + 1);
    try {
      raw[short] = JSON.parse(value);
    } catch {
      raw[short] = value;
    }
  }
  return raw;
}
