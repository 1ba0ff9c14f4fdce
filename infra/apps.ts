// The bill of materials: every app of ours, each described in its own folder
// (apps/<name>/src/app.ts). Infra maps this list to workloads, stack keys,
// rules and dashboards; the image workflow builds what it names
// (scripts/apps-matrix.ts). Adding a service is one folder and one line here.

import { feedApp } from "@golive/feed/app";
import { gatewayApp } from "@golive/gateway/app";
import { jobsApp } from "@golive/jobs/app";
import { preflightApp } from "@golive/preflight/app";
import type { AppDescriptor, ServiceDescriptor } from "@golive/shared/app-descriptor";

export const APPS: readonly AppDescriptor[] = [feedApp, gatewayApp, jobsApp, preflightApp];

/**
 * Images of ours that are not apps of the list: a component of their own
 * deploys them when a stack setting asks for it (the WAF service with
 * golive:waf.engine ext-authz: components/waf-authz.ts). images.yml builds
 * and pin-images.ts pins them as it does the apps, under `key`, their
 * golive:images key; their Dockerfiles are written by hand.
 */
export interface OwnImage {
  readonly name: string;
  readonly key: string;
  readonly dockerfile: string;
}
export const OWN_IMAGES: readonly OwnImage[] = [
  { name: "waf-authz", key: "wafAuthz", dockerfile: "apps/waf-authz/Dockerfile" },
];

export const servicesOf = (apps: readonly AppDescriptor[]): ServiceDescriptor[] =>
  apps.filter((a): a is ServiceDescriptor => a.kind === "service");

/** Names the stack files' per-app keys must not take: they already mean something else. */
const RESERVED = new Set([
  "postgres",
  "migrations",
  "k6",
  "kubectl",
  "rclone",
  "corazaWasm",
  "blackboxExporter",
]);

/**
 * Refuses a list that cannot be deployed, naming the app and the field: a
 * duplicate or reserved name, a call or address to an app or port that does
 * not exist, a database URL without database access, two public apps.
 */
export function checkApps(apps: readonly AppDescriptor[]): void {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const a of apps) {
    if (!/^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$/.test(a.name))
      problems.push(`${a.name}: name is not a DNS label`);
    if (names.has(a.name)) problems.push(`${a.name}: listed twice`);
    if (RESERVED.has(a.name)) problems.push(`${a.name}: name is reserved for a stack key`);
    if (OWN_IMAGES.some((i) => i.name === a.name)) problems.push(`${a.name}: name is one of OWN_IMAGES`);
    names.add(a.name);
  }
  const services = new Map(servicesOf(apps).map((s) => [s.name, s]));
  const hasPort = (app: string, port: string) => services.get(app)?.ports.some((p) => p.name === port);
  for (const s of services.values()) {
    const portNames = new Set(s.ports.map((p) => p.name));
    if (s.headless && !portNames.has(s.headless.port))
      problems.push(`${s.name}: headless.port ${s.headless.port} is not a port`);
    if (s.drillCalls && !portNames.has(s.drillCalls))
      problems.push(`${s.name}: drillCalls ${s.drillCalls} is not a port`);
    for (const c of s.calls ?? []) {
      if (!hasPort(c.app, c.port))
        problems.push(`${s.name}: calls ${c.app}:${c.port}, which is no service port`);
    }
    for (const [key, source] of Object.entries(s.env)) {
      if (typeof source !== "object" || source === null) continue;
      if ("databaseUrl" in source && !s.database) problems.push(`${s.name}: env ${key} needs database: true`);
      if ("addressOf" in source) {
        if (!hasPort(source.addressOf, source.port)) {
          problems.push(
            `${s.name}: env ${key} names ${source.addressOf}:${source.port}, which is no service port`,
          );
        } else if (!s.calls?.some((c) => c.app === source.addressOf && c.port === source.port)) {
          problems.push(`${s.name}: env ${key} addresses ${source.addressOf} without calls allowing it`);
        }
      }
    }
  }
  for (const flag of ["public", "migrations"] as const) {
    const set = [...services.values()].filter((s) => s[flag]).map((s) => s.name);
    if (set.length > 1) problems.push(`only one app may be ${flag}: ${set.join(", ")}`);
  }
  if (problems.length > 0) throw new Error(`invalid app list:\n  ${problems.join("\n  ")}`);
}

checkApps(APPS);
