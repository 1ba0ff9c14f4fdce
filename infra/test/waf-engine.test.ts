// The WAF harness runs the engine and rules the pinned coraza-proxy-wasm image
// embeds: every stack's tag is in the mapping, and tools/coraza-waf/go.mod
// names exactly its Coraza and CRS versions (and that CRS module says it
// carries that CRS release).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { REPO_ROOT, rawStackConfig } from "../stack-files";
import { CORAZA_PROXY_WASM, corazaProxyWasmTag } from "../waf-engine";

const HARNESS = path.join(REPO_ROOT, "tools", "coraza-waf");
const required = (mod: string) =>
  new RegExp(`^\\s*(?:require\\s+)?${mod.replace(/[./]/g, "\\$&")} (v\\S+)`, "m").exec(
    readFileSync(path.join(HARNESS, "go.mod"), "utf8"),
  )?.[1];

test("every stack pins a coraza-proxy-wasm release whose engine and rules the harness builds", () => {
  for (const stack of ["local", "staging", "prod"]) {
    const images = rawStackConfig(stack).images as { corazaWasm: string };
    const tag = corazaProxyWasmTag(images.corazaWasm);
    const embeds = CORAZA_PROXY_WASM[tag];
    assert.ok(embeds, `${stack}: coraza-proxy-wasm ${tag} has no entry in infra/waf-engine.ts`);
    assert.equal(required("github.com/corazawaf/coraza/v3"), embeds.coraza, `${stack}: Coraza of ${tag}`);
    assert.equal(
      required("github.com/corazawaf/coraza-coreruleset/v4"),
      embeds.crs,
      `${stack}: CRS of ${tag}`,
    );
  }
});

test("the CRS module the harness requires carries the CRS release of its version", () => {
  const dir = JSON.parse(
    execFileSync("go", ["mod", "download", "-json", "github.com/corazawaf/coraza-coreruleset/v4"], {
      cwd: HARNESS,
      encoding: "utf8",
    }),
  ).Dir as string;
  const version = /crsVersion\s*=\s*"([^"]+)"/.exec(readFileSync(path.join(dir, "version.go"), "utf8"))?.[1];
  assert.equal(version, required("github.com/corazawaf/coraza-coreruleset/v4"));
  const setup = readFileSync(path.join(dir, "rules", "@crs-setup.conf.example"), "utf8");
  assert.match(setup, new RegExp(`ver:'OWASP_CRS/${version?.replace(/^v/, "").replace(/\./g, "\\.")}'`));
});

test("a reference that is not coraza-proxy-wasm by tag is refused with the key named", () => {
  assert.throws(
    () => corazaProxyWasmTag("ghcr.io/corazawaf/coraza-proxy-wasm@sha256:ab"),
    /images\.corazaWasm/,
  );
});
