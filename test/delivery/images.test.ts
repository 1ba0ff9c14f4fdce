// Builds every image the way its Dockerfile says, without Docker: each
// FROM / WORKDIR / COPY / RUN is replayed in a temp folder per stage, with
// the machine's node as the base image. One shortcut, named here: the build
// stage's full `npm ci` becomes links into the repository's node_modules (same
// lockfile), with the workspace links pointing at the stage's own copies, so
// the bundle is made from what the Dockerfile copied. The production install
// is the Dockerfile's real command. Then each image's dependency list is
// printed and checked, its entry points start under plain node, and the feed
// and gateway images serve a request from a real Postgres.
import assert from "node:assert/strict";
import { execSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import { builtinModules } from "node:module";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { waitFor } from "@golive/devkit/feed-process";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { seedDatabase } from "@golive/devkit/seed-data";
import { type ServiceProcess, spawnService } from "@golive/devkit/service-process";
import { type Collector, startCollector } from "@golive/devkit/trace-backends";
import { FEED_COMMANDS } from "@golive/feed/contract";
import { RETENTION_COMMAND } from "@golive/jobs/contract";
import { Pool } from "pg";
import { OWN_IMAGES } from "../../infra/apps";
import { dockerfiles, parseDockerfile, ROOT, workspaces } from "./dockerfile";

interface Image {
  app: string;
  /** The runtime stage's WORKDIR (/app), as a folder here. */
  dir: string;
  cmd: string;
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));

/** What `npm ci` leaves in the build stage, from the repository's own install. */
function linkDevInstall(cwd: string): void {
  const modules = path.join(cwd, "node_modules");
  fs.mkdirSync(path.join(modules, "@golive"), { recursive: true });
  for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
    if (entry === "@golive" || entry.startsWith(".")) continue;
    fs.symlinkSync(path.join(ROOT, "node_modules", entry), path.join(modules, entry));
  }
  for (const dir of workspaces()) {
    const name = readJson(path.join(ROOT, dir, "package.json")).name as string;
    fs.symlinkSync(path.join(cwd, dir), path.join(modules, name));
  }
}

const notIgnored = (src: string) => !/(^|\/)node_modules(\/|$)|\.test\.ts$/.test(src);

function replay(file: string, into: string): Image {
  const stages = new Map<string, { root: string; cwd: string }>();
  let stage = { root: "", cwd: "" };
  let cmd = "";
  for (const { op, args } of parseDockerfile(fs.readFileSync(path.join(ROOT, file), "utf8"))) {
    const { root, cwd } = stage;
    if (op === "FROM") {
      const [image = "", , alias] = args.split(/\s+/);
      const next = path.join(into, alias ?? String(stages.size));
      // FROM an earlier stage starts from its files and its WORKDIR.
      const base = stages.get(image);
      if (base) fs.cpSync(base.root, next, { recursive: true, verbatimSymlinks: true });
      fs.mkdirSync(next, { recursive: true });
      stage = { root: next, cwd: base ? path.join(next, path.relative(base.root, base.cwd)) : next };
      stages.set(alias ?? String(stages.size), stage);
    } else if (op === "WORKDIR") {
      stage.cwd = path.join(root, args);
      fs.mkdirSync(stage.cwd, { recursive: true });
    } else if (op === "COPY") {
      const words = args.split(/\s+/);
      const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
      const paths = words.filter((w) => !w.startsWith("--"));
      const dest = paths.pop() as string;
      const destAbs = path.isAbsolute(dest) ? path.join(root, dest) : path.join(cwd, dest);
      for (const src of paths) {
        const srcAbs = from ? path.join(stages.get(from)?.root as string, src) : path.join(ROOT, src);
        if (fs.statSync(srcAbs).isDirectory()) {
          // .dockerignore keeps dependencies and tests out of the build context.
          const filter = from ? undefined : notIgnored;
          fs.cpSync(srcAbs, destAbs, { recursive: true, verbatimSymlinks: true, filter });
        } else {
          const target = dest.endsWith("/") ? path.join(destAbs, path.basename(src)) : destAbs;
          fs.mkdirSync(path.dirname(target), { recursive: true });
          fs.copyFileSync(srcAbs, target);
        }
      }
    } else if (op === "RUN") {
      const command = args.replace(/--mount=\S+\s+/g, "");
      if (/\bnpm ci\b/.test(command) && !/--omit=dev/.test(command)) linkDevInstall(cwd);
      else execSync(command, { cwd, shell: "/bin/sh", stdio: "pipe" });
    } else if (op === "CMD") {
      cmd = (JSON.parse(args) as string[])[0] as string;
    }
  }
  return { app: path.basename(path.dirname(file)), dir: stage.cwd, cmd };
}

/** Top-level packages in an image's node_modules (scoped ones as @scope/name). */
function installed(dir: string): string[] {
  const modules = path.join(dir, "node_modules");
  return fs
    .readdirSync(modules)
    .filter((e) => !e.startsWith("."))
    .flatMap((e) => (e.startsWith("@") ? fs.readdirSync(path.join(modules, e)).map((s) => `${e}/${s}`) : [e]))
    .sort();
}

/** Package names the bundles in dist/ require at run time. */
function required(dir: string): Set<string> {
  const names = new Set<string>();
  for (const file of fs.readdirSync(path.join(dir, "dist")).filter((f) => f.endsWith(".js"))) {
    const text = fs.readFileSync(path.join(dir, "dist", file), "utf8");
    for (const m of text.matchAll(/require(?:\.resolve)?\("([^".][^"]*)"\)/g)) {
      const spec = (m[1] as string).replace(/^node:/, "");
      const name = spec.startsWith("@")
        ? spec.split("/").slice(0, 2).join("/")
        : (spec.split("/")[0] as string);
      if (!builtinModules.includes(name)) names.add(name);
    }
  }
  return names;
}

let tmp: string;
const images = new Map<string, Image>();

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "golive-images-"));
  // The Node apps' Dockerfiles (the WAF service's Go one is checked in dockerfiles.test.ts).
  const own = new Set(OWN_IMAGES.map((i) => i.dockerfile));
  for (const file of dockerfiles().filter((f) => !own.has(f))) {
    const image = replay(file, path.join(tmp, path.basename(path.dirname(file))));
    images.set(image.app, image);
  }
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const image = (app: string) => images.get(app) as Image;

// What the issue that split the workspaces named (cockatiel has since become
// the feed's own too: db-roles waits for the database with its retry), plus
// every tool of the repository.
const NOT_IN = {
  feed: ["fastify", "ws"],
  gateway: ["pg", "drizzle-orm", "grpc-health-check"],
  jobs: ["@grpc/grpc-js", "fastify", "ws", "drizzle-orm"],
  preflight: ["@grpc/grpc-js", "fastify", "ws", "drizzle-orm", "pino"],
} as Record<string, string[]>;
const TOOLS = [
  "tsx",
  "esbuild",
  "typescript",
  "@pulumi/pulumi",
  "@faker-js/faker",
  "drizzle-kit",
  "@golive/devkit",
];

test("each image installs its own app's production dependencies and nothing else", (t) => {
  for (const [app, absent] of Object.entries(NOT_IN)) {
    const list = installed(image(app).dir);
    t.diagnostic(`${app} image (${list.length} packages): ${list.join(" ")}`);
    for (const name of [...absent, ...TOOLS]) assert.ok(!list.includes(name), `${app} image holds ${name}`);
    // Every package the bundles require is there...
    for (const name of required(image(app).dir)) assert.ok(list.includes(name), `${app} requires ${name}`);
    // ...and every third-party package the app declares is one they require.
    const own = Object.keys(readJson(path.join(ROOT, "apps", app, "package.json")).dependencies);
    const unused = own.filter((d) => !d.startsWith("@golive/") && !required(image(app).dir).has(d));
    assert.deepEqual(unused, [], `apps/${app}/package.json declares packages its code never requires`);
  }
});

test("the entry points the deploy runs are in the images and fail fast on bad config under plain node", () => {
  const entries: [string, string, string][] = [
    ["feed", image("feed").cmd, "DATABASE_URL"],
    ["feed", FEED_COMMANDS.migrate[1] as string, "DATABASE_URL"],
    ["feed", FEED_COMMANDS.dbRoles[1] as string, "FEED_LOGIN_ACTIVE"],
    ["gateway", image("gateway").cmd, "FEED_ADDRESS"],
    ["jobs", image("jobs").cmd, "DATABASE_URL"],
    ["jobs", RETENTION_COMMAND[1] as string, "DATABASE_URL"],
    ["preflight", image("preflight").cmd, "PREFLIGHT_STACK"],
  ];
  for (const [app, entry, variable] of entries) {
    const run = spawnSync(process.execPath, [entry], {
      cwd: image(app).dir,
      env: { PATH: process.env.PATH, NODE_ENV: "production" },
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.equal(run.status, 2, `${app} ${entry}: ${run.stdout}${run.stderr}`);
    assert.match(run.stdout + run.stderr, new RegExp(variable), `${app} ${entry} does not name ${variable}`);
  }
});

test("the feed and gateway images migrate a real Postgres and serve a traced feed page through each other", async () => {
  let pg: TestPostgres | undefined;
  let collector: Collector | undefined;
  const procs: ServiceProcess[] = [];
  try {
    pg = await startTestPostgres();
    // Tracing on: the instrumentations must find the modules they patch in the image.
    collector = await startCollector({ keepPercent: 100, slowMs: 60_000, decisionWaitMs: 300 });
    const tracing = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_TRACES_SAMPLER_ARG: "1" };
    const migrate = spawnSync(process.execPath, [FEED_COMMANDS.migrate[1] as string], {
      cwd: image("feed").dir,
      env: { PATH: process.env.PATH, NODE_ENV: "production", DATABASE_URL: pg.url, LOG_LEVEL: "warn" },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(migrate.status, 0, migrate.stdout + migrate.stderr);
    const pool = new Pool({ connectionString: pg.url, max: 2 });
    const seeded = await seedDatabase(pool, { users: 3, videos: 10, likes: 5 }).finally(() => pool.end());

    const [grpcPort, feedOps, httpPort, gatewayOps] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    // As the image runs it: its CMD under plain node, from its WORKDIR.
    const start = async (app: string, opsPort: number, env: Record<string, string>) =>
      procs.push(
        await spawnService({
          nodeArgs: ["--enable-source-maps"],
          probe: "ready",
          entry: image(app).cmd,
          cwd: image(app).dir,
          opsPort,
          env: { NODE_ENV: "production", OPS_HOST: "127.0.0.1", LOG_LEVEL: "warn", ...tracing, ...env },
        }),
      );
    await start("feed", feedOps, {
      DATABASE_URL: pg.url,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: String(grpcPort),
    });
    await start("gateway", gatewayOps, {
      FEED_ADDRESS: `127.0.0.1:${grpcPort}`,
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: String(httpPort),
    });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await fetch(`http://127.0.0.1:${httpPort}/v1/feed?userId=${seeded.userIds[0]}&limit=5`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    const body = (await res.json()) as { videos: unknown[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(body.videos.length > 0, "an empty page from a seeded database");
    // Stopping flushes both services' spans; the trace then has both services' spans.
    for (const p of procs.splice(0)) {
      p.child.kill("SIGTERM");
      await p.exited;
    }
    await waitFor(
      "the trace at the collector",
      async () => (collector?.keptTraces().get(traceId)?.services.size ?? 0) === 2,
      15_000,
    );
  } finally {
    for (const p of procs) {
      p.child.kill("SIGTERM");
      await p.exited;
    }
    await collector?.stop();
    pg?.destroy();
  }
});
