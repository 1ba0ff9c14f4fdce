// The resume point rule both services share: bounded in the past, never in
// the future (a resumed stream would skip what arrives before it).
import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_CLOCK_SKEW_MS, resumeSinceSchema } from "../src/stream-resume";

const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

test("a resume point in the past is kept as sent", () => {
  const since = at(-60_000);
  assert.equal(resumeSinceSchema.parse(since), since);
});

test("a resume point further ahead than clock skew explains is refused, naming why", () => {
  for (const since of [at(60_000), at(3600_000), "2999-01-01T00:00:00Z"]) {
    const result = resumeSinceSchema.safeParse(since);
    assert.equal(result.success, false, since);
    assert.match(result.error?.issues[0]?.message ?? "", /must not be in the future/);
  }
});

test("a resume point within clock skew ahead is clamped to now", () => {
  const before = Date.now();
  const since = resumeSinceSchema.parse(at(MAX_CLOCK_SKEW_MS / 2));
  assert.ok(Date.parse(since) >= before && Date.parse(since) <= Date.now(), since);
});

test("a resume point with an offset is read as the instant it names", () => {
  const since = new Date(Date.now() - 3600_000);
  const withOffset = since.toISOString().replace("Z", "+00:00");
  assert.equal(resumeSinceSchema.parse(withOffset), since.toISOString());
});
