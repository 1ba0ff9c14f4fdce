// The Alertmanager config the program renders is checked by the real amtool,
// and its routing is exercised with `amtool config routes test`.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { stringify } from "yaml";
import {
  type AlertmanagerSettingsInput,
  alertmanagerSettingsSchema,
  renderAlertmanagerConfig,
} from "./alertmanager";

const run = promisify(execFile);
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "golive-am-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(name: string, settings: AlertmanagerSettingsInput): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, stringify(renderAlertmanagerConfig(settings)));
  return file;
}

async function routesFor(file: string, labels: string[]): Promise<string> {
  const { stdout } = await run("amtool", ["config", "routes", "test", `--config.file=${file}`, ...labels]);
  return stdout.trim();
}

const pagingSettings: AlertmanagerSettingsInput = {
  receivers: [
    {
      type: "slack",
      name: "team-slack",
      apiUrl: "https://hooks.slack.com/services/T000/B000/secret",
      channel: "#feed-alerts",
    },
    { type: "pagerduty", name: "oncall", routingKey: "0123456789abcdef0123456789abcdef" },
    { type: "webhook", name: "audit", url: "https://audit.example.com/alertmanager" },
  ],
  routes: { critical: ["oncall", "team-slack"], warning: ["team-slack"], info: ["audit"] },
};

describe("renderAlertmanagerConfig", () => {
  test("with no settings, amtool accepts the config and every alert goes to the null receiver", async () => {
    const file = await writeConfig("none", {});
    const { stdout } = await run("amtool", ["check-config", file]);
    assert.match(stdout, /SUCCESS/);
    assert.equal(await routesFor(file, ["severity=critical", "alertname=ErrorRate"]), "null");
    assert.equal(await routesFor(file, ["severity=warning"]), "null");
  });

  test("with slack, pagerduty and webhook, amtool accepts it and severities reach their receivers", async () => {
    const file = await writeConfig("paging", pagingSettings);
    const { stdout } = await run("amtool", ["check-config", file]);
    assert.match(stdout, /SUCCESS/);
    assert.match(stdout, /2 inhibit rules/);
    assert.match(stdout, /4 receivers/);
    assert.equal(await routesFor(file, ["severity=critical", "alertname=ErrorRate"]), "oncall,team-slack");
    assert.equal(await routesFor(file, ["severity=warning", "alertname=QueueDepth"]), "team-slack");
    assert.equal(await routesFor(file, ["severity=info"]), "audit");
    assert.equal(await routesFor(file, ["severity=critical", "alertname=Watchdog"]), "null");
    assert.equal(await routesFor(file, ["severity=none"]), "null");
  });

  test("critical inhibits warning of the same alertname, namespace and service", () => {
    const config = renderAlertmanagerConfig(pagingSettings) as { inhibit_rules: Record<string, unknown>[] };
    assert.deepEqual(config.inhibit_rules[0], {
      source_matchers: ['severity="critical"'],
      target_matchers: ['severity=~"warning|info"'],
      equal: ["alertname", "namespace", "service"],
    });
  });

  test("a route to an unknown receiver is rejected with its path", () => {
    const result = alertmanagerSettingsSchema.safeParse({ routes: { critical: ["nobody"] } });
    assert.equal(result.success, false);
    assert.deepEqual(result.error?.issues[0]?.path, ["routes", "critical", 0]);
    assert.match(result.error?.issues[0]?.message ?? "", /unknown receiver "nobody"/);
  });

  test("a receiver may not take the reserved null name or a bad URL", () => {
    assert.equal(
      alertmanagerSettingsSchema.safeParse({
        receivers: [{ type: "webhook", name: "null", url: "https://x.example" }],
      }).success,
      false,
    );
    assert.equal(
      alertmanagerSettingsSchema.safeParse({ receivers: [{ type: "slack", name: "s", apiUrl: "not a url" }] })
        .success,
      false,
    );
  });
});
