// A loopback DNS server (UDP) with fixed A records, for tests that resolve a
// public host name without the internet: the client side is the real
// resolver (node's c-ares), only the zone is ours. Unknown names: NXDOMAIN.
import dgram from "node:dgram";
import dnsPacket from "dns-packet";

export interface TestDnsServer {
  /** "127.0.0.1:<port>", as dns.Resolver#setServers takes it. */
  address: string;
  close(): Promise<void>;
}

export async function startDnsServer(records: Record<string, string>): Promise<TestDnsServer> {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (message, peer) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    const address = question ? records[question.name.toLowerCase()] : undefined;
    const answer = dnsPacket.encode({
      type: "response",
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (address ? 0 : 3), // rcode 3: NXDOMAIN
      questions: query.questions,
      answers:
        address && question?.type === "A" ? [{ type: "A", name: question.name, ttl: 60, data: address }] : [],
    });
    socket.send(answer, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
