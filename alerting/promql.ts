// PromQL helpers shared by the rule and dashboard checks.

const PROMQL_WORDS = new Set(
  "sum by without on ignoring group_left group_right rate increase irate max min avg count histogram_quantile label_replace absent max_over_time min_over_time and or unless offset bool le inf nan topk bottomk".split(
    " ",
  ),
);

/** Metric names in a PromQL expression: identifiers not inside {} or "" and not functions or keywords. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "{}")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\[[^\]]*\]/g, "");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const next = stripped.slice((m.index ?? 0) + word.length).trimStart();
    if (PROMQL_WORDS.has(word) || next.startsWith("(")) continue;
    names.add(word);
  }
  return [...names];
}
