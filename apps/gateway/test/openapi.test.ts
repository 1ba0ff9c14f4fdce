// docs/openapi.json is the API the gateway serves: the committed file is the
// one the API table renders (and the ops port serves), every route the
// gateway registers is in it and nothing else, and the gateway's real answers
// (a fake feed behind it) have a status the document lists and a body its
// schema accepts.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import Ajv2020 from "ajv/dist/2020";
import { API } from "../src/api";
import { openApiPath, openApiText } from "../src/openapi";
import { VIDEO_IDS } from "./support/fake-feed";
import { gatewayOnFakeFeed } from "./support/gateway";

const DOC_FILE = path.join(__dirname, "../../../docs/openapi.json");
type Operation = { responses: Record<string, { content?: { "application/json": { schema: object } } }> };
const doc = JSON.parse(fs.readFileSync(DOC_FILE, "utf8")) as {
  paths: Record<string, Record<string, Operation>>;
};
// Formats are checked by the patterns zod writes beside them.
const ajv = new Ajv2020({ strict: true, validateFormats: false, allErrors: true });

test("docs/openapi.json is the document the API table renders (npm run openapi)", () => {
  assert.equal(
    fs.readFileSync(DOC_FILE, "utf8"),
    openApiText(),
    "run `npm run openapi` and commit the result",
  );
});

describe("the gateway and its document", () => {
  const fixture = gatewayOnFakeFeed();

  test("every route the gateway registers is in the document, and every route of the document is registered", () => {
    const registered = fixture.gw
      .routes()
      .filter((r) => r.method !== "HEAD")
      .map((r) => `${r.method} ${openApiPath(r.url)}`)
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    assert.deepEqual(registered, documented);
    assert.deepEqual(API.map((r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`).sort(), documented);
  });

  test("the ops port serves the document", async () => {
    const res = await fetch(`http://127.0.0.1:${fixture.gw.opsPort}/openapi.json`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), openApiText());
  });

  /** Calls the gateway and checks the answer against the document's operation. */
  async function conforms(method: "get" | "post", docPath: string, url: string, init: RequestInit = {}) {
    const res = await fetch(`${fixture.gw.url}${url}`, { method: method.toUpperCase(), ...init });
    const body = await res.json();
    const answer = doc.paths[docPath]?.[method]?.responses[String(res.status)];
    assert.ok(answer, `${method} ${url} answered ${res.status}, which the document does not list`);
    const schema = answer.content?.["application/json"].schema;
    assert.ok(schema, `${method} ${docPath} ${res.status} has no body schema`);
    const validate = ajv.compile(schema);
    assert.ok(
      validate(body),
      `${method} ${url} ${res.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
    );
    return res.status;
  }

  test("real answers have a documented status and a body the document's schema accepts", async () => {
    const user = VIDEO_IDS[0] as string;
    const video = VIDEO_IDS[1] as string;
    const json = { "content-type": "application/json" };
    const seen = [
      await conforms("get", "/v1/feed", `/v1/feed?userId=${user}&limit=2`),
      await conforms("get", "/v1/feed", "/v1/feed?userId=not-a-uuid"),
      await conforms("get", "/v1/videos/{id}", `/v1/videos/${video}`),
      await conforms("get", "/v1/videos/{id}", "/v1/videos/00000000-0000-4000-8000-000000000009"),
      await conforms("get", "/v1/videos/{id}", "/v1/videos/nope"),
      await conforms("post", "/v1/videos/{id}/likes", `/v1/videos/${video}/likes`, {
        headers: { ...json, "idempotency-key": "k-1" },
        body: JSON.stringify({ userId: user }),
      }),
      await conforms("post", "/v1/videos/{id}/likes", `/v1/videos/${video}/likes`, {
        headers: { "content-type": "application/xml" },
        body: "<like/>",
      }),
      await conforms("post", "/v1/videos/{id}/likes", `/v1/videos/${video}/likes`, {
        headers: json,
        body: JSON.stringify({ userId: user, extra: 1 }),
      }),
      await conforms("get", "/v1/messages", `/v1/messages?userId=${user}`),
    ];
    assert.deepEqual(seen, [200, 400, 200, 404, 400, 200, 415, 400, 426]);
    fixture.feed.failWith = grpc.status.UNAVAILABLE;
    try {
      assert.equal(await conforms("get", "/v1/videos/{id}", `/v1/videos/${video}`), 503);
    } finally {
      fixture.feed.failWith = undefined;
    }
  });
});
