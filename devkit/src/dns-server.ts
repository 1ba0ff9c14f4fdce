// A loopback DNS server (UDP) with A records the test sets, for tests that
// resolve a host name without the internet: the client side is the real
// resolver (node's c-ares), only the zone is ours. Unknown names: NXDOMAIN.
// Answers carry TTL 0, so a resolver asks again and sees a changed record.
import dgram from "node:dgram";
import dnsPacket from "dns-packet";

export interface TestDnsServer {
  /** "127.0.0.1:<port>", as dns.Resolver#setServers takes it. */
  address: string;
  /** Replaces a name's A records (a Service's endpoints changing). */
  set(name: string, addresses: string[]): void;
  close(): Promise<void>;
}

export async function startDnsServer(records: Record<string, string | string[]>): Promise<TestDnsServer> {
  const zone = new Map<string, string[]>();
  const set = (name: string, addresses: string[]) => zone.set(name.toLowerCase(), addresses);
  for (const [name, addresses] of Object.entries(records)) set(name, [addresses].flat());
  const socket = dgram.createSocket("udp4");
  socket.on("message", (message, peer) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    const addresses = question ? zone.get(question.name.toLowerCase()) : undefined;
    const answer = dnsPacket.encode({
      type: "response",
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (addresses ? 0 : 3), // rcode 3: NXDOMAIN
      questions: query.questions,
      answers:
        addresses && question?.type === "A"
          ? addresses.map((data) => ({ type: "A" as const, name: question.name, ttl: 0, data }))
          : [],
    });
    socket.send(answer, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    set,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
