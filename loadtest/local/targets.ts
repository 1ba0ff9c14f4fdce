// The drill is a load generator: it only aims at this machine unless told
// otherwise in so many words.
import net from "node:net";

function hostOf(target: string): string {
  if (/^[a-z]+:\/\//i.test(target)) return new URL(target).hostname.replace(/^\[|\]$/g, "");
  const match = /^\[?([^\]]+?)\]?:\d+$/.exec(target);
  return match?.[1] ?? target;
}

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  if (net.isIPv6(host)) return host === "::1";
  return false;
}

export function assertLoopbackTargets(targets: string[], allowNonLoopback: boolean): void {
  if (allowNonLoopback) return;
  const remote = targets.filter((t) => !isLoopback(hostOf(t)));
  if (remote.length > 0) {
    throw new Error(
      `refusing to send load to non-loopback target(s) ${remote.join(", ")}; pass --allow-non-loopback if you mean it`,
    );
  }
}
