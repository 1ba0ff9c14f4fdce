// A loopback TCP proxy that can stall: while stalled, bytes in both directions
// are held (not dropped) and new connections wait, like a database that stops
// answering without closing anything. resume() lets everything through again.
import net from "node:net";

export interface StallProxy {
  port: number;
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startStallProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<StallProxy> {
  let stalled = false;
  const held: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const later = (fn: () => void) => (stalled ? held.push(fn) : fn());

  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    const fromClient: Buffer[] = [];
    let upstream: net.Socket | undefined;
    client.on("data", (chunk) => later(() => (upstream ? upstream.write(chunk) : fromClient.push(chunk))));
    client.on("end", () => later(() => upstream?.end()));
    later(() => {
      upstream = net.connect(targetPort, targetHost);
      sockets.add(upstream);
      upstream.on("close", () => client.destroy());
      upstream.on("error", () => client.destroy());
      upstream.on("data", (chunk) => later(() => client.write(chunk)));
      upstream.on("end", () => later(() => client.end()));
      for (const chunk of fromClient.splice(0)) upstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const fn of held.splice(0)) fn();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
