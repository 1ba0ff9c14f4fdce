// Loads the Prometheus rules: the platform's files (alerting/rules/*.yaml:
// recording rules, capacity, data safety, tracing, ...) and, per service of
// the app list, the standard alerts (service-alerts.ts) plus the service's own
// file (apps/<name>/alerts.yaml). The Pulumi program wraps each platform file
// and each service's set in a PrometheusRule; runbook_url values are
// repo-relative and get the stack's base URL (e.g.
// https://github.com/ORG/REPO/blob/main/) here.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { APPS, servicesOf } from "../infra/apps";
import { serviceAlertGroup } from "./service-alerts";

export const RULES_DIR = path.join(__dirname, "rules");

const ruleSchema = z
  .object({
    alert: z.string().optional(),
    record: z.string().optional(),
    expr: z.string(),
    for: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .strict();
const groupSchema = z
  .object({ name: z.string(), interval: z.string().optional(), rules: z.array(ruleSchema) })
  .strict();
const fileSchema = z.object({ groups: z.array(groupSchema) }).strict();

export type Rule = z.infer<typeof ruleSchema>;
export type RuleGroup = z.infer<typeof groupSchema>;
export interface RuleFile {
  /** File name without extension, e.g. "capacity", or "service-<app>"; usable as a resource name. */
  name: string;
  /** Where it is read from; none for a service's generated set. */
  path?: string;
  groups: RuleGroup[];
}

const REPO_ROOT = path.resolve(__dirname, "..");

/** The groups of one rule file (a platform file or an app's own alerts). */
export function loadRuleGroups(file: string): RuleGroup[] {
  return fileSchema.parse(parse(readFileSync(file, "utf8"))).groups;
}

/** A service's rules: the standard alerts with its job filled in, then its own file's groups. */
export function serviceRules(service: { name: string; rules?: string }): RuleFile {
  return {
    name: `service-${service.name}`,
    groups: [
      serviceAlertGroup(service.name),
      ...(service.rules ? loadRuleGroups(path.join(REPO_ROOT, service.rules)) : []),
    ],
  };
}

/** Where promtool or Prometheus reads each file; a generated set is written into `dir` first. */
export function ruleFilePaths(files: RuleFile[], dir: string): string[] {
  return files.map((f) => {
    if (f.path) return f.path;
    const file = path.join(dir, `${f.name}.yaml`);
    writeFileSync(file, stringify({ groups: f.groups }));
    return file;
  });
}

/** Every rule the stack deploys: the platform files, then each service's set. */
export function allRuleFiles(): RuleFile[] {
  return [...loadRuleFiles(), ...servicesOf(APPS).map(serviceRules)];
}

export function loadRuleFiles(dir: string = RULES_DIR): RuleFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      return {
        name: path.basename(f, ".yaml"),
        path: file,
        groups: loadRuleGroups(file),
      };
    });
}

/** Returns the groups with every repo-relative runbook_url prefixed by baseUrl. */
export function withRunbookBaseUrl(groups: RuleGroup[], baseUrl: string): RuleGroup[] {
  const base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  return groups.map((g) => ({
    ...g,
    rules: g.rules.map((r) => {
      const url = r.annotations?.runbook_url;
      if (!url || /^https?:\/\//.test(url)) return r;
      return { ...r, annotations: { ...r.annotations, runbook_url: new URL(url, base).toString() } };
    }),
  }));
}
