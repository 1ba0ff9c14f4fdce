// Loads feed/v1/feed.proto (this package) at run time with the options that
// scripts/proto-gen.sh passes to the type generator, so the generated types in
// ./generated describe exactly the objects this loader produces.
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { ProtoGrpcType } from "./generated/feed";

// By package name, so the same line works from source, from a test and from
// the bundle in an image (node_modules/@golive/proto).
export const PROTO_ROOT = path.dirname(require.resolve("@golive/proto/package.json"));
export const FEED_PROTO = "feed/v1/feed.proto";

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

export function loadFeedProto(): ProtoGrpcType {
  const definition = protoLoader.loadSync(FEED_PROTO, LOADER_OPTIONS);
  return grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
}

export type { FeedServiceClient, FeedServiceHandlers } from "./generated/feed/v1/FeedService";
export type { GetFeedRequest__Output as GetFeedRequest } from "./generated/feed/v1/GetFeedRequest";
export type { GetFeedResponse } from "./generated/feed/v1/GetFeedResponse";
export type { GetVideoRequest__Output as GetVideoRequest } from "./generated/feed/v1/GetVideoRequest";
export type { LikeVideoRequest__Output as LikeVideoRequest } from "./generated/feed/v1/LikeVideoRequest";
export type { LikeVideoResponse } from "./generated/feed/v1/LikeVideoResponse";
export type { Message } from "./generated/feed/v1/Message";
export type { SendMessageRequest__Output as SendMessageRequest } from "./generated/feed/v1/SendMessageRequest";
export type { StreamMessagesRequest__Output as StreamMessagesRequest } from "./generated/feed/v1/StreamMessagesRequest";
export type { Video } from "./generated/feed/v1/Video";
