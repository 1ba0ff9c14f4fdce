// A service process's memory as the kernel and V8 see it: resident set from
// /proc (what a container's memory limit counts) beside the heap and
// off-heap figures its ops port exports (prom-client default metrics).
import fs from "node:fs";

export interface MemorySample {
  /** Resident set size, MiB (VmRSS). */
  rssMib: number;
  /** Of which anonymous memory (heaps, malloc), MiB; the rest is mapped files (node's own code). */
  anonymousMib: number;
  /** Of which pages freed with MADV_FREE that the kernel has not taken back yet, MiB. */
  lazyFreeMib: number;
  /** Of which transparent huge pages, MiB. */
  hugePagesMib: number;
  /** V8 heap in use, MiB. */
  heapUsedMib: number;
  /** V8 heap committed (in use or not), MiB. */
  heapTotalMib: number;
  /** Of which the young generation (new space), MiB. */
  newSpaceMib: number;
  /** Memory V8 knows is held outside its heap (Buffers, ArrayBuffers), MiB. */
  externalMib: number;
}

const MiB = 1024 * 1024;

/** VmRSS of a process, in MiB (Linux). */
export function residentMib(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return kb / 1024;
}

/** One kB field of /proc/<pid>/smaps_rollup, in MiB. */
function rollup(text: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1]) / 1024;
}

function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : Number.NaN;
}

export async function sampleMemory(pid: number, opsPort: number): Promise<MemorySample> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  const smaps = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return {
    rssMib: residentMib(pid),
    anonymousMib: rollup(smaps, "Anonymous"),
    lazyFreeMib: rollup(smaps, "LazyFree"),
    hugePagesMib: rollup(smaps, "AnonHugePages"),
    heapUsedMib: metric(text, "nodejs_heap_size_used_bytes") / MiB,
    heapTotalMib: metric(text, "nodejs_heap_size_total_bytes") / MiB,
    newSpaceMib: metric(text, 'nodejs_heap_space_size_total_bytes{space="new"}') / MiB,
    externalMib: metric(text, "nodejs_external_memory_bytes") / MiB,
  };
}

/** Polls a process's RSS until stopped; stop() returns the highest seen, in MiB. */
export function watchPeakRss(pid: number, intervalMs = 100): { stop(): number } {
  let peak = 0;
  const poll = () => {
    try {
      peak = Math.max(peak, residentMib(pid));
    } catch {
      // The process is gone: the peak so far stands.
    }
  };
  poll();
  const timer = setInterval(poll, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      poll();
      return peak;
    },
  };
}
