import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { CHARTS, chartName, chartSource } from "../charts";
import { parseStackConfig, StackConfigError } from "../config";
import { runWithMocks, toObjects } from "../render/mock-runtime";
import { goLiveStack } from "../stack";
import { rawStackConfig, readStackFile } from "../stack-files";
import { helmVersions } from "./support/oci-chart-mirror";

/** Every Release the program registers for `stack` with `golive:charts` set to `charts`. */
async function releases(stack: string, charts: Record<string, unknown>) {
  const { config } = readStackFile(stack);
  const raw = { ...rawStackConfig(stack), charts };
  const cfg = parseStackConfig(raw);
  const { resources } = await runWithMocks(
    stack,
    { ...config, "golive:charts": JSON.stringify(charts) },
    () => goLiveStack(cfg),
  );
  return toObjects(resources).filter((o) => o.kind === "Release");
}

describe("charts from a mirror (golive:charts.mirror)", () => {
  let mirror: string;
  before(() => {
    mirror = mkdtempSync(path.join(tmpdir(), "charts-"));
    for (const pin of Object.values(CHARTS))
      writeFileSync(path.join(mirror, `${chartName(pin)}-${pin.version}.tgz`), "");
  });
  after(() => rmSync(mirror, { recursive: true, force: true }));

  it("without a mirror every release, cert-manager included, pulls its pinned chart upstream", async () => {
    const rels = await releases("staging", {});
    assert.equal(rels.length, Object.keys(CHARTS).length);
    for (const rel of rels) {
      const spec = rel.spec as { chart: string; version: string; repositoryOpts?: { repo: string } };
      assert.match(spec.version, /^v?\d+\.\d+\.\d+$/, rel.metadata.name);
      assert.ok(
        spec.chart.startsWith("oci://") || spec.repositoryOpts?.repo.startsWith("https://"),
        rel.metadata.name,
      );
    }
  });

  it("with a folder every release installs the packaged archive of its pinned version from it", async () => {
    const rels = await releases("prod", { mirror });
    assert.deepEqual(
      rels.map((r) => (r.spec as { chart: string }).chart).sort(),
      Object.values(CHARTS)
        .map((pin) => path.join(mirror, `${chartName(pin)}-${pin.version}.tgz`))
        .sort(),
    );
    for (const rel of rels)
      assert.equal((rel.spec as { repositoryOpts?: unknown }).repositoryOpts, undefined);
  });

  it("with an OCI registry every release pulls <registry>/<chart> at its pinned version", () => {
    const src = chartSource(CHARTS.envoyGateway, "oci://registry.internal:5000/charts/");
    assert.deepEqual(src, { chart: "oci://registry.internal:5000/charts/gateway-helm", version: "v1.9.0" });
    assert.deepEqual(chartSource(CHARTS.loki, "oci://registry.internal/charts"), {
      chart: "oci://registry.internal/charts/loki",
      version: CHARTS.loki.version,
    });
  });

  it("the Helm that pushes charts into the test's OCI mirror is the Helm the provider pulls them with", () => {
    const { pusher, provider } = helmVersions();
    assert.ok(provider, "helm.sh/helm/v3 in tools/pulumi-kubernetes/go.mod");
    assert.equal(pusher, provider, "tools/oci-registry/go.mod pins another Helm than the provider embeds");
  });

  it("a mirror folder that lacks a pinned chart fails the config with the key and the missing archive", () => {
    rmSync(path.join(mirror, `loki-${CHARTS.loki.version}.tgz`));
    try {
      assert.throws(
        () => parseStackConfig({ ...rawStackConfig("staging"), charts: { mirror } }),
        (err: unknown) =>
          err instanceof StackConfigError &&
          /golive:charts\.mirror: the mirror lacks loki-6\.56\.1\.tgz/.test(err.message),
      );
    } finally {
      writeFileSync(path.join(mirror, `loki-${CHARTS.loki.version}.tgz`), "");
    }
    assert.throws(
      () => parseStackConfig({ ...rawStackConfig("staging"), charts: { mirror: "charts" } }),
      /golive:charts\.mirror: "charts" is neither an oci:\/\/ URL nor an absolute folder/,
    );
  });
});
