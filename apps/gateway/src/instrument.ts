// Tracing for the gateway. Nothing here patches modules: the HTTP server spans
// and the gRPC client spans are made in server.ts and feed-client.ts, and trace
// ids reach the log lines through the logger (@golive/tracing/spans says why
// by hand). Still the first import of main.ts, like the feed's, so that the
// SDK is in place before any span is asked for.
import { startTracing } from "@golive/tracing/tracing";

// No context manager: every span's parent is passed by hand (server.ts says why).
export const tracing = startTracing("gateway", () => [], { contextManager: false });
