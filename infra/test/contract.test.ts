// The Pulumi program and the apps agree through the apps' contracts: every
// variable a rendered container sets is one its app's config schema reads,
// the ports and the health service come from the contracts, and a misspelt
// variable does not even compile.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { feedConfigSchema } from "@golive/feed/config";
import { FEED_GRPC_PORT, FEED_SERVICE_NAME, type FeedEnv } from "@golive/feed/contract";
import { dbRolesConfigSchema } from "@golive/feed/db-roles";
import { migrateConfigSchema } from "@golive/feed/migrate";
import { gatewayEnvSchema } from "@golive/gateway/config";
import { GATEWAY_HTTP_PORT } from "@golive/gateway/contract";
import { retentionConfigSchema } from "@golive/jobs/retention";
import { appEnv } from "../components/app-env";
import { program } from "../program";
import { runWithMocks } from "../render/mock-runtime";
import { readStackFile } from "../stack-files";
import { renderStack } from "./support/render";

// biome-ignore lint/suspicious/noExplicitAny: rendered objects are untyped YAML
type Any = any;
const spec = (o: Any) => o.spec;
const names = (schema: { shape: object }) => new Set(Object.keys(schema.shape));

// @ts-expect-error: GRPC_PROT is not a variable the feed reads
appEnv<FeedEnv>([{ name: "GRPC_PROT", value: String(FEED_GRPC_PORT) }]);

describe("the program follows the apps' contracts", () => {
  for (const stack of ["staging", "prod"]) {
    it(`${stack}: every container variable is one its app reads; ports and health service from the contracts`, async () => {
      const r = await renderStack(stack);
      const ns = `golive-${stack}`;
      const containers: Array<[string, Any, Set<string>]> = [
        ["feed", spec(r.find("Deployment", "feed", ns)).template.spec.containers[0], names(feedConfigSchema)],
        [
          "gateway",
          spec(r.find("Deployment", "gateway", ns)).template.spec.containers[0],
          names(gatewayEnvSchema),
        ],
        [
          "retention",
          spec(r.find("CronJob", "retention", ns)).jobTemplate.spec.template.spec.containers[0],
          names(retentionConfigSchema),
        ],
      ];
      const job = spec(r.all("Job")[0]).template.spec;
      for (const c of [...(job.initContainers ?? []), ...job.containers]) {
        const schema = c.name === "db-roles" ? dbRolesConfigSchema : migrateConfigSchema;
        containers.push([c.name, c, names(schema)]);
      }
      for (const [name, container, reads] of containers) {
        for (const e of container.env)
          assert.ok(reads.has(e.name), `${name} sets ${e.name}, which it does not read`);
      }
      const [[, feed], [, gateway]] = containers as [[string, Any, Set<string>], [string, Any, Set<string>]];
      assert.deepEqual(feed.ports.find((p: Any) => p.name === "grpc")?.containerPort, FEED_GRPC_PORT);
      assert.equal(feed.readinessProbe.grpc.service, FEED_SERVICE_NAME);
      assert.deepEqual(gateway.ports.find((p: Any) => p.name === "http")?.containerPort, GATEWAY_HTTP_PORT);
    });
  }
});

// `pulumi stack output` on a stack deployed with the CLI lists the entry
// module's exports; the Automation API lists what program() returns. They
// drifted once (preflightTrigger was missing from the CLI's outputs).
it("the CLI entry point (infra/index.ts) exports every output the program returns, and nothing else", async () => {
  const { config } = readStackFile("prod");
  const fromProgram = await runWithMocks("prod", config, () => program());
  const fromEntry = await runWithMocks("prod", config, () => require("../index") as object);
  assert.deepEqual(Object.keys(fromEntry.value).sort(), Object.keys(fromProgram.value).sort());
});
