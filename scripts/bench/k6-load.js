// A closed loop at a fixed number of virtual users for the gateway
// benchmark (scripts/bench-gateway.ts): k6 generates the load in its own
// process, so its CPU is measured apart from the processes under test.
// Env: TARGET (http://... or grpc host:port), USERS (comma-separated ids),
// VUS, DURATION (k6 duration), SUMMARY_PATH, PROTO_DIR (for grpc).
import { check } from "k6";
import http from "k6/http";
import grpc from "k6/net/grpc";

const users = (__ENV.USERS || "").split(",");
const target = __ENV.TARGET || "";
const isGrpc = !target.startsWith("http");
const client = isGrpc ? new grpc.Client() : null;
if (client) client.load([__ENV.PROTO_DIR], "feed/v1/feed.proto");

export const options = {
  vus: Number(__ENV.VUS || "16"),
  duration: __ENV.DURATION || "5s",
  summaryTrendStats: ["med", "p(95)", "p(99)"],
  discardResponseBodies: true,
};

let connected = false;
export default function () {
  const userId = users[Math.floor(Math.random() * users.length)];
  if (client) {
    if (!connected) {
      client.connect(target, { plaintext: true });
      connected = true;
    }
    const res = client.invoke("feed.v1.FeedService/GetFeed", { userId, pageSize: 20 });
    check(res, { ok: (r) => r.status === grpc.StatusOK });
  } else {
    const res = http.get(`${target}/v1/feed?userId=${userId}&limit=20`);
    check(res, { ok: (r) => r.status === 200 });
  }
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_PATH]: JSON.stringify(data) };
}
