import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { loadFeedProto } from "../src/loader";

const repo = path.resolve(__dirname, "../..");
const committed = path.join(repo, "proto/src/generated");

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

test("generated proto types match proto/ (rerun `npm run proto:gen` after editing the proto)", () => {
  const fresh = fs.mkdtempSync(path.join(os.tmpdir(), "proto-gen-"));
  try {
    execFileSync("bash", [path.join(repo, "scripts/proto-gen.sh"), fresh], { cwd: repo, stdio: "pipe" });
    assert.deepEqual(listFiles(fresh), listFiles(committed));
    for (const file of listFiles(fresh)) {
      assert.equal(
        fs.readFileSync(path.join(committed, file), "utf8"),
        fs.readFileSync(path.join(fresh, file), "utf8"),
        `${file} is out of date`,
      );
    }
  } finally {
    fs.rmSync(fresh, { recursive: true, force: true });
  }
});

test("the runtime loader exposes every FeedService method", () => {
  const proto = loadFeedProto();
  const methods = Object.keys(proto.feed.v1.FeedService.service).sort();
  assert.deepEqual(methods, ["GetFeed", "GetVideo", "LikeVideo", "SendMessage", "StreamMessages"]);
  assert.equal(proto.feed.v1.FeedService.service.StreamMessages.responseStream, true);
});
