// Loads the Prometheus rule files (alerting/rules/*.yaml), the single source
// for alerts and recording rules. The Pulumi program wraps each file in a
// PrometheusRule; runbook_url values are repo-relative in the files and get
// the stack's base URL (e.g. https://github.com/ORG/REPO/blob/main/) here.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { z } from "zod";

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
  /** File name without extension, e.g. "services"; usable as a resource name. */
  name: string;
  path: string;
  groups: RuleGroup[];
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
        groups: fileSchema.parse(parse(readFileSync(file, "utf8"))).groups,
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
