// The public host resolves: through the system resolver (what a pod or a
// laptop uses), or through a given DNS server (host:port).
import dns from "node:dns/promises";
import type { CheckResult } from "../result";
import { timed, withDeadline } from "../result";

export interface DnsCheckInput {
  host: string;
  /** "127.0.0.1:5353": ask this server instead of the system resolver. */
  server?: string;
  timeoutMs: number;
}

export function checkDns(input: DnsCheckInput): Promise<CheckResult> {
  return timed("dns", async () => {
    const addresses = await withDeadline(resolve(input), input.timeoutMs, `resolve ${input.host}`);
    if (addresses.length === 0) return { status: "failed", reason: `${input.host} has no A or AAAA record` };
    return { status: "ok", reason: `${input.host} -> ${addresses.join(", ")}` };
  });
}

async function resolve({ host, server, timeoutMs }: DnsCheckInput): Promise<string[]> {
  if (!server) return (await dns.lookup(host, { all: true })).map((a) => a.address);
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers([server]);
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const found = [v4, v6].flatMap((r) => (r.status === "fulfilled" ? r.value : []));
  if (found.length > 0) return found;
  // Both failed: the A query's error says why (NXDOMAIN, refused, timeout).
  if (v4.status === "rejected") throw v4.reason;
  return [];
}
