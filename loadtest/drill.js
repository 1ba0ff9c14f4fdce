// The go-live drill: the three critical user flows under an arrival-rate load,
// with thresholds taken from the alerts (feed p95 < 50 ms, errors < 1 %) and
// end-to-end message delivery, plus a handful of attack requests (SQL
// injection, XSS, path traversal) that the WAF must block in blocking mode and
// that must never cause a 5xx. Runs unchanged locally and in the cluster; the
// chaos step (a pod delete or a process kill) is driven from outside k6. In
// the cluster the HTTP and WebSocket flows go through the edge (TLS, WAF, rate
// limit); the summary counts the WAF's 403s and the rate limit's 429s.
//
// Environment (defaults target a local stack):
//   GATEWAY_URL      http://127.0.0.1:8080 (in the cluster: https://<domain>)
//   EDGE_ADDR_FILE   a file holding the edge Service's address, which <domain>
//                    then resolves to (optional)
//   DRILL_TOKEN      sent as x-golive-drill: lifts the per-client rate limit
//                    (one pod is not one client), never the global ceiling
//   WAF_MODE         blocking | detection | none (no WAF in front)
//   WAF_ENGINE       wasm | ext-authz (golive:waf.engine): with ext-authz in
//                    blocking mode every attack must be refused by the WAF
//                    service's own answer, which Envoy gives before the
//                    request goes upstream (code WAF_BLOCKED)
//   FEED_GRPC_ADDRS  127.0.0.1:50051   (comma-separated; a VU fails over on error)
//   PROTO_DIR        ../proto
//   PROFILE          smoke | load | soak | probe
//   DURATION         replaces the profile's length (90s, 5m), e.g. to span rollouts
//   LATENCY_P95_MS   the request flows' p95 threshold (default 50, the alerts'
//                    SLO); a test lane sharing its machine with other tests
//                    sets it higher and keeps the error and loss thresholds
//   SUMMARY_PATH     where handleSummary writes its JSON (optional)
import { check, fail } from "k6";
import http from "k6/http";
import { Counter, Rate, Trend } from "k6/metrics";
import grpc from "k6/net/grpc";
import { WebSocket } from "k6/websockets";

const GATEWAY_URL = __ENV.GATEWAY_URL || "http://127.0.0.1:8080";
const WS_URL = GATEWAY_URL.replace(/^http/, "ws");
const FEED_GRPC_ADDRS = (__ENV.FEED_GRPC_ADDRS || "127.0.0.1:50051").split(",").filter(Boolean);
const PROTO_DIR = __ENV.PROTO_DIR || "../proto";
const PROFILE = __ENV.PROFILE || "smoke";
const WAF_MODE = __ENV.WAF_MODE || "none";
if (!["blocking", "detection", "none"].includes(WAF_MODE))
  throw new Error(`WAF_MODE must be blocking, detection or none; got ${WAF_MODE}`);
const WAF_ENGINE = __ENV.WAF_ENGINE || "wasm";
if (!["wasm", "ext-authz"].includes(WAF_ENGINE))
  throw new Error(`WAF_ENGINE must be wasm or ext-authz; got ${WAF_ENGINE}`);
const EDGE_HOST = GATEWAY_URL.replace(/^\w+:\/\/([^/:]+).*$/, "$1");
const EDGE_ADDR = __ENV.EDGE_ADDR_FILE ? open(__ENV.EDGE_ADDR_FILE).trim() : "";
const HEADERS = __ENV.DRILL_TOKEN ? { "x-golive-drill": __ENV.DRILL_TOKEN } : {};
// Every request carries a fresh W3C trace context, so a failed one is found by
// its trace id in the services' logs (and in Jaeger when it was sampled:
// TRACE_SHARE of the requests ask for that; all of them would slow the drill).
const TRACE_SHARE = Number(__ENV.TRACE_SHARE || "0.1");

// Requests per second per flow, and how long.
const PROFILES = {
  smoke: { duration: "30s", feed: 20, like: 10, messages: 2, vus: 10 },
  load: { duration: "5m", feed: 100, like: 40, messages: 10, vus: 60 },
  soak: { duration: "30m", feed: 50, like: 20, messages: 5, vus: 40 },
  // A few seconds of every flow: enough for alerting/observability.e2e.test.ts
  // to see each drill dashboard series arrive through remote write.
  probe: { duration: "6s", feed: 5, like: 2, messages: 1, vus: 4 },
};
const chosen = PROFILES[PROFILE];
if (!chosen) throw new Error(`PROFILE must be one of ${Object.keys(PROFILES).join(", ")}; got ${PROFILE}`);
if (__ENV.DURATION && !/^[1-9]\d*(s|m)$/.test(__ENV.DURATION))
  throw new Error(`DURATION must be whole seconds or minutes, such as 90s or 5m; got ${__ENV.DURATION}`);
const profile = { ...chosen, duration: __ENV.DURATION || chosen.duration };
const P95_MS = Number(__ENV.LATENCY_P95_MS || "50");
if (!(P95_MS > 0)) throw new Error(`LATENCY_P95_MS must be a positive number; got ${__ENV.LATENCY_P95_MS}`);

const flowErrors = new Rate("flow_errors");
const messageDelivered = new Rate("message_delivered");
const messageLatency = new Trend("message_delivery_ms", true);
const staleResponses = new Counter("stale_feed_responses");
const failovers = new Counter("grpc_failovers");
const wafBlocked = new Counter("waf_blocked");
const rateLimited = new Counter("rate_limited");
const attackBlocked = new Rate("attack_blocked");
const attackNotRefused = new Counter("attack_not_refused");
// Refused by the WAF service (ext_authz) before the request went upstream.
const attackBeforeGateway = new Rate("attack_blocked_before_gateway");
// Answers of a flow whose kill switch is off (503 FEATURE_DISABLED, feature
// flags likes-writes and messages): not failures, and not drilled either.
const switchedOff = {
  like: new Counter("switched_off_like"),
  messages: new Counter("switched_off_messages"),
};

// Classic payloads the OWASP Core Rule Set scores far above the anomaly
// threshold at paranoia level 1. Whatever the WAF mode, each must be refused
// with a 4xx: by the WAF (403) or, past it, by the gateway's input validation.
const ATTACKS = [
  { kind: "sqli", path: "/v1/feed?userId=1%27%20OR%20%271%27%3D%271&limit=20" },
  { kind: "sqli", path: "/v1/feed?userId=1%20UNION%20SELECT%20password%20FROM%20users--&limit=20" },
  { kind: "xss", path: "/v1/feed?userId=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E" },
  { kind: "path_traversal", path: "/v1/feed?userId=..%2F..%2F..%2F..%2Fetc%2Fpasswd" },
];

const hex = (bytes) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

/** A request's trace id and the headers that carry it. */
function traced(extra = {}) {
  const traceId = hex(16);
  const flags = Math.random() < TRACE_SHARE ? "01" : "00";
  return { traceId, headers: { ...HEADERS, ...extra, traceparent: `00-${traceId}-${hex(8)}-${flags}` } };
}

/**
 * A failed flow names its trace, to look it up in Loki (trace_id) or Jaeger.
 * One line per failed request of a flow (the log's time stamps place it in a
 * chaos or rollout window).
 */
function reportFailure(flow, traceId, detail) {
  console.warn(`drill: ${flow} failed (${detail}); trace_id=${traceId}`);
}

/** Counts what the edge refused: 403 from the WAF, 429 from the rate limit. */
function edge(res) {
  if (res.status === 403) wafBlocked.add(1);
  if (res.status === 429) rateLimited.add(1);
  return res;
}

function arrival(rate, exec, flow) {
  return {
    executor: "constant-arrival-rate",
    rate,
    timeUnit: "1s",
    duration: profile.duration,
    preAllocatedVUs: profile.vus,
    maxVUs: profile.vus * 4,
    exec,
    tags: { flow },
  };
}

export const options = {
  // In the cluster the public host name resolves to the edge Service.
  hosts: EDGE_ADDR ? { [EDGE_HOST]: EDGE_ADDR } : {},
  scenarios: {
    feed_http: arrival(profile.feed, "feedHttp", "feed_http"),
    feed_grpc: arrival(profile.feed, "feedGrpc", "feed_grpc"),
    like: arrival(profile.like, "like", "like"),
    messages: arrival(profile.messages, "messages", "messages"),
    attacks: {
      executor: "per-vu-iterations",
      vus: 1,
      iterations: ATTACKS.length,
      maxDuration: "30s",
      exec: "attack",
      tags: { flow: "attacks" },
    },
  },
  thresholds: {
    attack_not_refused: ["count==0"],
    ...(WAF_MODE === "blocking" ? { attack_blocked: ["rate==1"] } : {}),
    ...(WAF_MODE === "blocking" && WAF_ENGINE === "ext-authz"
      ? { attack_blocked_before_gateway: ["rate==1"] }
      : {}),
    "http_req_duration{flow:feed_http}": [`p(95)<${P95_MS}`],
    "grpc_req_duration{flow:feed_grpc}": [`p(95)<${P95_MS}`],
    "http_req_duration{flow:like}": [`p(95)<${P95_MS}`],
    "flow_errors{flow:feed_http}": ["rate<0.01"],
    "flow_errors{flow:feed_grpc}": ["rate<0.01"],
    "flow_errors{flow:like}": ["rate<0.01"],
    "flow_errors{flow:messages}": ["rate<0.01"],
    message_delivered: ["rate>0.99"],
    message_delivery_ms: ["p(95)<500"],
  },
  summaryTrendStats: ["avg", "med", "p(95)", "p(99)", "max", "count"],
  setupTimeout: "30s",
};

const client = new grpc.Client();
client.load([PROTO_DIR], "feed/v1/feed.proto");
let connectedTo = -1;

// Users and videos come from the seeded data, read through the public API.
export function setup() {
  // GetFeed does not personalise yet, so any well-formed user id reads the feed.
  const reader = "00000000-0000-4000-8000-000000000000";
  const res = http.get(`${GATEWAY_URL}/v1/feed?userId=${reader}&limit=100`, {
    headers: HEADERS,
    tags: { flow: "setup" },
  });
  if (res.status !== 200) fail(`setup: GET /v1/feed answered ${res.status}: ${res.body}`);
  const videos = res.json("videos");
  if (!videos || videos.length < 2) fail("setup: the feed has fewer than 2 videos; seed the database first");
  const users = [...new Set(videos.map((v) => v.authorId))];
  if (users.length < 2) fail("setup: need at least 2 distinct users among video authors");
  return { videoIds: videos.map((v) => v.id), userIds: users };
}

const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** A 503 the gateway gives on purpose: the flow's kill switch is off. */
function isSwitchedOff(res) {
  if (res.status !== 503) return false;
  try {
    return res.json("code") === "FEATURE_DISABLED";
  } catch {
    return false;
  }
}

export function feedHttp(data) {
  const { traceId, headers } = traced();
  const res = edge(
    http.get(`${GATEWAY_URL}/v1/feed?userId=${pick(data.userIds)}&limit=20`, {
      headers,
      tags: { name: "GET /v1/feed" },
    }),
  );
  const ok = check(res, {
    "feed: 200": (r) => r.status === 200,
    "feed: has videos": (r) => r.json("videos.#") > 0,
  });
  if (res.headers["X-Stale"] === "true") staleResponses.add(1);
  if (!ok) reportFailure("feed", traceId, `HTTP ${res.status}`);
  flowErrors.add(!ok);
}

export function feedGrpc(data) {
  // Each VU starts on its own replica address and, when a call fails with
  // UNAVAILABLE, fails over to the next address and tries once more, as a
  // client with a fixed endpoint list and one retry would.
  if (connectedTo < 0) connectedTo = (__VU - 1) % FEED_GRPC_ADDRS.length;
  const request = { user_id: pick(data.userIds), page_size: 20 };
  const { traceId, headers } = traced();
  let res = callFeed(request, headers.traceparent);
  if (res === null || res.status === grpc.StatusUnavailable) {
    failovers.add(1);
    res = callFeed(request, headers.traceparent);
  }
  const ok = check(res, { "grpc feed: OK": (r) => r !== null && r.status === grpc.StatusOK });
  if (!ok) reportFailure("grpc feed", traceId, res === null ? "no connection" : `status ${res.status}`);
  flowErrors.add(!ok);
}

// One connection per VU, kept across iterations (connecting per call would
// leak a socket per request); dropped and re-dialled on the next address
// after a failure.
let connected = false;

function callFeed(request, traceparent) {
  if (!connected) {
    try {
      client.connect(FEED_GRPC_ADDRS[connectedTo], { plaintext: true, timeout: "2s" });
      connected = true;
    } catch {
      connectedTo = (connectedTo + 1) % FEED_GRPC_ADDRS.length;
      return null;
    }
  }
  const res = client.invoke("feed.v1.FeedService/GetFeed", request, {
    timeout: "2s",
    metadata: { traceparent },
  });
  if (res.status !== grpc.StatusOK) {
    client.close();
    connected = false;
    connectedTo = (connectedTo + 1) % FEED_GRPC_ADDRS.length;
  }
  return res;
}

export function like(data) {
  const { traceId, headers } = traced({ "content-type": "application/json" });
  const res = edge(
    http.post(
      `${GATEWAY_URL}/v1/videos/${pick(data.videoIds)}/likes`,
      JSON.stringify({ userId: pick(data.userIds) }),
      {
        headers,
        tags: { name: "POST /v1/videos/:id/likes" },
      },
    ),
  );
  if (isSwitchedOff(res)) {
    switchedOff.like.add(1);
    return;
  }
  const ok = check(res, {
    "like: 200": (r) => r.status === 200,
    "like: counted": (r) => r.json("likeCount") > 0,
  });
  if (!ok) reportFailure("like", traceId, `HTTP ${res.status}`);
  flowErrors.add(!ok);
}

// One iteration: the recipient listens, the sender sends, the recipient must
// receive that exact message within the deadline.
export function messages(data) {
  const [sender, recipient] = [pick(data.userIds), pick(data.userIds)];
  if (sender === recipient) return;
  const marker = `drill-${__VU}-${__ITER}-${Date.now()}`;
  const listener = new WebSocket(`${WS_URL}/v1/messages?userId=${recipient}`, null, { headers: HEADERS });
  let sentAt = 0;
  let done = false;
  const finish = (delivered, detail) => {
    if (done) return;
    done = true;
    messageDelivered.add(delivered);
    flowErrors.add(!delivered);
    if (delivered) messageLatency.add(Date.now() - sentAt);
    // No trace context on a WebSocket frame: the marker is the message's body.
    else console.warn(`drill: message failed (${detail}); marker=${marker}`);
    listener.close();
  };
  const deadline = setTimeout(
    () => finish(false, sentAt ? "not delivered in 3 s" : "listener not subscribed in 3 s"),
    3000,
  );
  listener.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    // The listener's feed stream is live: only now may the message be sent.
    if (frame.type === "subscribed") send();
    if (frame.type === "message" && frame.message && frame.message.body === marker) {
      clearTimeout(deadline);
      finish(true);
    }
  };
  listener.onerror = (e) => {
    clearTimeout(deadline);
    // A refused upgrade shows no status here: a plain GET of the path says whether messages are switched off.
    if (!sentAt && messagesSwitchedOff(recipient)) {
      done = true;
      switchedOff.messages.add(1);
      listener.close();
      return;
    }
    finish(false, `listener: ${e.error}`);
  };
  const send = () => {
    const sender_ws = new WebSocket(`${WS_URL}/v1/messages?userId=${sender}`, null, { headers: HEADERS });
    sender_ws.onopen = () => {
      sentAt = Date.now();
      sender_ws.send(JSON.stringify({ to: recipient, body: marker }));
      sender_ws.close();
    };
    sender_ws.onerror = (e) => {
      clearTimeout(deadline);
      finish(false, `sender: ${e.error}`);
    };
  };
}

function messagesSwitchedOff(userId) {
  return isSwitchedOff(
    edge(
      http.get(`${GATEWAY_URL}/v1/messages?userId=${userId}`, {
        headers: HEADERS,
        tags: { name: "GET /v1/messages" },
      }),
    ),
  );
}

// One attack request per iteration; blocked means the WAF answered 403.
export function attack() {
  const a = ATTACKS[__ITER % ATTACKS.length];
  const res = edge(http.get(`${GATEWAY_URL}${a.path}`, { headers: HEADERS, tags: { attack: a.kind } }));
  attackBlocked.add(res.status === 403, { attack: a.kind });
  attackBeforeGateway.add(res.status === 403 && wafServiceAnswer(res), { attack: a.kind });
  const refused = check(res, { "attack: refused with a 4xx": (r) => r.status >= 400 && r.status < 500 });
  if (!refused) attackNotRefused.add(1, { attack: a.kind });
}

/** The WAF service's denial, which Envoy's ext_authz filter gives before anything goes upstream. */
function wafServiceAnswer(res) {
  try {
    return res.json("code") === "WAF_BLOCKED";
  } catch {
    return false;
  }
}

export function handleSummary(data) {
  const count = (name) => (data.metrics[name] ? data.metrics[name].values.count || 0 : 0);
  const rate = (name) => (data.metrics[name] ? data.metrics[name].values : { passes: 0, fails: 0 });
  const blocked = rate("attack_blocked");
  const lines = [
    `go-live drill (${PROFILE}), WAF ${WAF_MODE}${WAF_MODE === "none" ? "" : ` (${WAF_ENGINE})`}`,
    `edge: ${count("waf_blocked")} requests blocked by the WAF (403), ${count("rate_limited")} rate limited (429)`,
    `attacks: ${blocked.passes} of ${blocked.passes + blocked.fails} blocked, ${count("attack_not_refused")} not refused with a 4xx${WAF_ENGINE === "ext-authz" ? `, ${rate("attack_blocked_before_gateway").passes} blocked before the gateway` : ""}`,
    "flows (requests, failed, p95 ms):",
  ];
  const latency = {
    feed_http: "http_req_duration{flow:feed_http}",
    feed_grpc: "grpc_req_duration{flow:feed_grpc}",
    like: "http_req_duration{flow:like}",
    messages: "message_delivery_ms",
  };
  for (const [flow, metric] of Object.entries(latency)) {
    // flow_errors is a Rate of "this request failed": passes are failures.
    const m = data.metrics[`flow_errors{flow:${flow}}`];
    const v = m ? m.values : { passes: 0, fails: 0 };
    const p95 = data.metrics[metric] ? data.metrics[metric].values["p(95)"] : undefined;
    const p95Text = p95 === undefined ? "-" : p95.toFixed(1);
    lines.push(
      `  ${flow.padEnd(10)} ${String(v.passes + v.fails).padStart(7)} ${String(v.passes).padStart(6)} ${p95Text.padStart(7)}`,
    );
  }
  const delivered = data.metrics.message_delivered
    ? data.metrics.message_delivered.values
    : { passes: 0, fails: 0 };
  lines.push(`messages: ${delivered.passes} delivered, ${delivered.fails} lost`);
  const off = ["like", "messages"]
    .filter((flow) => count(`switched_off_${flow}`) > 0)
    .map((flow) => `${flow} ${count(`switched_off_${flow}`)}`);
  if (off.length > 0) {
    lines.push(
      `switched off by a feature flag (503 FEATURE_DISABLED, not counted as failures, not drilled): ${off.join(", ")}`,
    );
  }
  lines.push("thresholds:");
  let passed = true;
  for (const [name, metric] of Object.entries(data.metrics)) {
    if (!metric.thresholds) continue;
    for (const [expr, result] of Object.entries(metric.thresholds)) {
      passed = passed && result.ok;
      lines.push(`  ${result.ok ? "PASS" : "FAIL"}  ${name}  ${expr}`);
    }
  }
  lines.push(`verdict: ${passed ? "PASS" : "FAIL"}`);
  const out = { stdout: `${lines.join("\n")}\n` };
  if (__ENV.SUMMARY_PATH) out[__ENV.SUMMARY_PATH] = JSON.stringify(data, null, 2);
  return out;
}
