// What one app of ours is, as plain data: its image, and for a long-running
// service its ports, environment, probes, network peers, dashboard and
// alert rules. Each app folder exports one (apps/<name>/src/app.ts);
// infra/apps.ts lists them (the bill of materials) and infra maps the list to
// Kubernetes objects, rules and dashboards, the workflows to image builds.
// No Pulumi here: the apps stay free of the deployer's libraries.

import type { HEALTH_PATHS } from "./contract";

/**
 * What the deployer gives every service, whatever it is: its ops port, the
 * stack's log level, the shutdown timing and where its spans go. A service's config schema must read
 * all of them (defineService checks it at compile time).
 */
export const COMMON_SERVICE_ENV = [
  "OPS_PORT",
  "LOG_LEVEL",
  "SHUTDOWN_GRACE_MS",
  "SHUTDOWN_DRAIN_DELAY_MS",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_TRACES_SAMPLER_ARG",
] as const;
export type CommonServiceEnv = (typeof COMMON_SERVICE_ENV)[number];

/**
 * A value the deployer fills in: a literal, the app database's URL (a
 * Secret), another app's address, a random value it generates once per
 * stack (`@pulumi/random`) into a Secret of the app's, under this key, or
 * the stack's feature flags: the path of the flag file (a ConfigMap the
 * deployer mounts) or whether fault flags may apply (feature-flags.ts).
 */
export type EnvSource =
  | string
  | { readonly databaseUrl: true }
  | { readonly addressOf: string; readonly port: string }
  | { readonly generatedSecret: string }
  | { readonly flags: "file" | "faultInjection" };

export type ProbeSpec = { readonly periodSeconds: number; readonly failureThreshold: number } & (
  | { readonly http: keyof typeof HEALTH_PATHS }
  /** An HTTP GET of a service not built here: its own path, on a named serving port or (by default) its metrics port. */
  | { readonly httpGet: { readonly path: string; readonly port?: string } }
  /** The gRPC health protocol on a named port; service "" asks for the server as a whole. */
  | { readonly grpc: { readonly port: string; readonly service: string } }
);

/** What scripts/dockerfiles.ts needs to write the app's Dockerfile (the rest comes from its package.json). */
export interface ImageSpec {
  /** Repo-relative Dockerfile (apps/<name>/Dockerfile); the build context is the repo root. */
  readonly dockerfile: string;
  /** The header's first lines: what the image is for. */
  readonly about: readonly string[];
  /** A paragraph after the build line, when the image needs one. */
  readonly notes?: readonly string[];
  /** The bundle entry the image runs: dist/<cmd> (scripts/bundle-app.mjs output). */
  readonly cmd: string;
  /** Environment of the runtime stage, and why. */
  readonly env?: { readonly why: readonly string[]; readonly vars: string };
}

/**
 * An image built outside this repository (a Go or Python service with its
 * own CI): nothing to build here; the stack's golive:images.<name> names it.
 */
export interface PrebuiltImage {
  readonly prebuilt: true;
  /** What it is and where it is built, for people. */
  readonly about: string;
}

interface AppBase {
  /** Kubernetes name, image key in the stack files, Prometheus job label. */
  readonly name: string;
  readonly image: ImageSpec | PrebuiltImage;
}

/** An app whose image this repository builds (its Dockerfile, the image workflow, the local images). */
export type BuiltHere<A extends AppDescriptor = AppDescriptor> = A & { readonly image: ImageSpec };
export const builtHere = <A extends AppDescriptor>(a: A): a is BuiltHere<A> => !("prebuilt" in a.image);

/** An image that infra runs as a Job or CronJob (retention, preflight). */
export interface JobAppDescriptor extends AppBase {
  readonly kind: "job";
}

export interface ServiceDescriptor<Env extends string = string> extends AppBase {
  readonly kind: "service";
  /** Serving ports; the ops port (metrics, health) is added by the deployer. */
  readonly ports: readonly { readonly name: string; readonly port: number }[];
  /** A headless Service over one port, for clients that balance per call (dns:///). */
  readonly headless?: { readonly name: string; readonly port: string };
  /** App-specific environment (the common part is COMMON_SERVICE_ENV), names checked against the app's schema. */
  readonly env: { readonly [K in Exclude<Env, CommonServiceEnv>]?: EnvSource };
  readonly probes: {
    readonly startup: ProbeSpec;
    readonly liveness: ProbeSpec;
    readonly readiness: ProbeSpec;
  };
  /** The public API's backend: the edge routes to it (at most one app). */
  readonly public?: boolean;
  /** Reads and writes the app database (egress to Postgres and a place on its allow list). */
  readonly database?: boolean;
  /** Its image carries the database migrations: the migrations Job runs it (one app of the list). */
  readonly migrations?: boolean;
  /** Other apps it calls, by name and port name: its egress and their ingress. */
  readonly calls?: readonly { readonly app: string; readonly port: string }[];
  /** The go-live drill's k6 calls this port directly (e.g. the feed's gRPC). */
  readonly drillCalls?: string;
  /** Repo-relative Grafana dashboard JSON (dashboards/build.ts writes ours). */
  readonly dashboard?: string;
  /**
   * Where Prometheus scrapes it, when that is not our ops port (OPS_PORT,
   * /metrics): a service not built here serves its own.
   */
  readonly metrics?: { readonly port: number; readonly path: string };
  /**
   * It reports its requests as the OpenTelemetry HTTP server metric
   * (http_server_request_duration_seconds, labels http_request_method,
   * http_response_status_code, http_route), as Go's otelhttp and Python's
   * OpenTelemetry instrumentations export it: the recording rules and the
   * standard alerts read it, and without a `dashboard` it gets the standard
   * one for it (dashboards/build.ts, otelHttpDashboard).
   */
  readonly otelHttpMetrics?: boolean;
  /** Repo-relative Prometheus rule file of its own alerts, tests beside it; the standard set (alerting/service-alerts.ts) comes on top. */
  readonly rules?: string;
}

export type AppDescriptor = ServiceDescriptor | JobAppDescriptor;

/**
 * A service descriptor whose environment names are checked against the
 * app's config schema (Env = EnvName<typeof schema>); an app whose schema
 * does not read the common environment does not compile.
 */
export function defineService<Env extends string>(
  d: [CommonServiceEnv] extends [Env]
    ? BuiltHere<ServiceDescriptor<Env>>
    : { error: "the schema misses common env" },
): BuiltHere<ServiceDescriptor<Env>> {
  return d as BuiltHere<ServiceDescriptor<Env>>;
}
