// What the edge's WAF runs: each coraza-proxy-wasm release embeds one Coraza
// engine (its go.mod) and one OWASP CRS release (its rule files). The WAF
// harness (tools/coraza-waf) builds the same engine and rules from the Go
// module proxy, so that the tests judge requests as the pinned image would;
// its go.mod must name the versions of the tag the stacks pin
// (images.corazaWasm), and infra/test/waf-engine.test.ts fails when one moves
// without the other. Sources: the release's go.mod (coraza/v3 v3.3.3) and its
// CRS bump (corazawaf/coraza-proxy-wasm#304, CRS v4.14); the
// coraza-coreruleset/v4 module of that CRS release was built against the
// same Coraza (its version.go).
//
// 0.5.0, pinned before, embeds Coraza v3.0.4 and CRS v4.0.0-rc2; no module
// serves that CRS release candidate, so no test here could have judged it.
export const CORAZA_PROXY_WASM: Record<string, { coraza: string; crs: string }> = {
  "0.6.0": { coraza: "v3.3.3", crs: "v4.14.0" },
};

/** The release a `ghcr.io/corazawaf/coraza-proxy-wasm:<tag>` reference pins. */
export function corazaProxyWasmTag(image: string): string {
  const m = /^ghcr\.io\/corazawaf\/coraza-proxy-wasm:([\w.-]+)$/.exec(image);
  if (!m?.[1])
    throw new Error(`images.corazaWasm: expected ghcr.io/corazawaf/coraza-proxy-wasm:<tag>, got ${image}`);
  return m[1];
}
