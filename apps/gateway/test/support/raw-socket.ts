// A WebSocket client that does the handshake by hand and then misbehaves on
// purpose: it never answers pings, and can stop reading altogether.
import { randomBytes } from "node:crypto";
import net from "node:net";

export async function rawWebSocket(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(
    [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
      "Sec-WebSocket-Version: 13",
      "",
      "",
    ].join("\r\n"),
  );
  const head = await new Promise<string>((resolve, reject) => {
    socket.once("data", (chunk: Buffer) => resolve(chunk.toString("latin1")));
    socket.once("error", reject);
  });
  if (!head.startsWith("HTTP/1.1 101")) throw new Error(`handshake refused: ${head.split("\r\n")[0]}`);
  return socket;
}
