// The feed API's fully qualified service name (gRPC paths, health checks,
// span names), apart from the loader so that importing it loads no gRPC.
export const FEED_SERVICE = "feed.v1.FeedService";
