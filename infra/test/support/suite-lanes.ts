// Lanes of one `npm test` run that must not measure each other. The suite
// runs two files at a time (scripts/test.sh), and the real-engine lane (up,
// preview and destroy of two stacks: API servers, etcd, Pulumi and Helm at
// full tilt) is the heaviest of them. The real-pods lane judges a drill's
// errors with the app's real deadlines, so its drill waits until that lane
// is over. scripts/test.sh gives each run a folder of its own
// (GOLIVE_SUITE_DIR); a file run alone has none and never waits.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const marker = (lane: string) =>
  process.env.GOLIVE_SUITE_DIR ? path.join(process.env.GOLIVE_SUITE_DIR, `${lane}.pid`) : undefined;

/** Marks a lane as running in this suite run; the returned function unmarks it. */
export function laneRunning(lane: string): () => void {
  const file = marker(lane);
  if (!file) return () => {};
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves when the lane is over (its marker gone, or its process dead
 * without removing it), at most after `maxMs`; returns how long it waited.
 */
export async function laneDone(lane: string, maxMs: number): Promise<number> {
  const file = marker(lane);
  const began = Date.now();
  while (file && existsSync(file) && Date.now() - began < maxMs) {
    const pid = Number(readFileSync(file, "utf8"));
    if (!alive(pid)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return Date.now() - began;
}
