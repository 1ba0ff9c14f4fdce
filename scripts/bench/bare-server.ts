// A bare grpc-js FeedService that answers GetFeed with one precomputed
// response: the floor the real service is compared against in the benchmark.
// Env: PAYLOAD_FILE (JSON GetFeedResponse), PORT.
import fs from "node:fs";
import { type GetFeedResponse, loadFeedProto } from "@golive/proto/loader";
import * as grpc from "@grpc/grpc-js";

const payload = JSON.parse(fs.readFileSync(process.env.PAYLOAD_FILE ?? "", "utf8")) as GetFeedResponse;
const unimplemented = (_call: unknown, callback: (err: Partial<grpc.ServiceError>) => void) =>
  callback({ code: grpc.status.UNIMPLEMENTED, details: "bare benchmark server" });

const server = new grpc.Server();
server.addService(loadFeedProto().feed.v1.FeedService.service, {
  GetFeed: (_call: unknown, callback: grpc.sendUnaryData<GetFeedResponse>) => callback(null, payload),
  GetVideo: unimplemented,
  LikeVideo: unimplemented,
  SendMessage: unimplemented,
  StreamMessages: (call: grpc.ServerWritableStream<unknown, unknown>) =>
    call.emit("error", { code: grpc.status.UNIMPLEMENTED }),
});
server.bindAsync(
  `127.0.0.1:${process.env.PORT ?? "0"}`,
  grpc.ServerCredentials.createInsecure(),
  (err, port) => {
    if (err) throw err;
    process.stdout.write(`bare server on ${port}\n`);
  },
);
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
