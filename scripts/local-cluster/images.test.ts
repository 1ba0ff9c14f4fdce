// The local images (images.ts) as a node would get them: each docker-archive
// names its ref and its layers by digest; the app images carry their
// Dockerfile's runtime stage (user, entry point, WORKDIR, ENV, ports) over
// Node 24 and only their production dependencies, root-owned; and, unpacked
// into a folder and run there as their user on a read-only root (a mount
// namespace and a chroot, so only the image's own files and libraries are
// seen), each program starts: the apps fail fast on missing config, Postgres
// initialises, takes a password over TCP, accepts the stack's postStart hook
// and runs the backup script. Images are cached under the setup cache
// (~/.cache/golive-kit/images), so only the first run builds.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { freePort } from "@golive/devkit/postgres";
import { workspaceClosure } from "@golive/devkit/workspaces";
import { Client } from "pg";
import { APPS } from "../../infra/apps";
import { BACKUP_SCRIPT } from "../../infra/components/backup";
import { APPLY_PASSWORD_HOOK, POSTGRES_UID } from "../../infra/components/database";
import { buildDockerfile, dockerignore } from "./dockerfile";
import { type BuiltImage, buildLocalImages, GOLIVE_CACHE, LOCAL_IMAGE_REFS, type LocalImage } from "./images";

const ROOT = path.resolve(__dirname, "..", "..");
const DISTROLESS_LIKE = {
  user: "65532",
  env: [],
  entrypoint: ["/nodejs/bin/node"],
  cmd: [],
  workdir: "/",
  exposedPorts: [],
};
/** One image per app of the list (infra/apps.ts). */
const APP_NAMES = APPS.map((a) => a.name);
const IS_ROOT = process.getuid?.() === 0;
const NEEDS_ROOT = "unpacking with owners and running in a chroot need root";

interface ImageConfig {
  architecture: string;
  os: string;
  config: {
    User: string;
    Env: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir: string;
    ExposedPorts?: Record<string, object>;
  };
  rootfs: { type: string; diff_ids: string[] };
}

interface Unpacked {
  manifest: { Config: string; RepoTags: string[]; Layers: string[] }[];
  config: ImageConfig;
  /** sha256 of each layer file of the archive, in order. */
  digests: string[];
  /** `tar -tv` of the last layer: mode string, owner, path. */
  topLayer: { mode: string; owner: string; path: string }[];
  /** The layers applied in order, owners kept (root only). */
  rootfs: string;
}

let tmp: string;
const logs: string[] = [];
let images: Partial<Record<LocalImage, BuiltImage>> = {};
const unpacked = new Map<LocalImage, Unpacked>();

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "golive-image-test-"));
  images = await buildLocalImages({ cacheDir: path.join(GOLIVE_CACHE, "images"), log: (s) => logs.push(s) });
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const member = (tar: string, name: string) =>
  execFileSync("tar", ["-xOf", tar, name], { maxBuffer: 2 * 1024 * 1024 * 1024 });

/** Reads an archive as an importer would: manifest, config, each layer by digest, applied in order. */
function unpack(name: LocalImage): Unpacked {
  const done = unpacked.get(name);
  if (done) return done;
  const image = images[name];
  assert.ok(image, `the ${name} image was not built: ${logs.join("; ")}`);
  const rootfs = path.join(tmp, name);
  fs.mkdirSync(rootfs);
  const manifest = JSON.parse(member(image.tar, "manifest.json").toString());
  const config = JSON.parse(member(image.tar, manifest[0].Config).toString()) as ImageConfig;
  const digests: string[] = [];
  let topLayer: Unpacked["topLayer"] = [];
  const layers = manifest[0].Layers as string[];
  for (const layer of layers) {
    const bytes = member(image.tar, layer);
    digests.push(`sha256:${createHash("sha256").update(bytes).digest("hex")}`);
    if (IS_ROOT)
      execFileSync("tar", ["-x", "-C", rootfs, "--same-owner", "--numeric-owner"], { input: bytes });
    if (layer !== layers.at(-1)) continue;
    topLayer = execFileSync("tar", ["-tv", "--numeric-owner"], {
      input: bytes,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    })
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => {
        const [mode = "", owner = "", , , , ...rest] = l.split(/\s+/);
        return { mode, owner, path: rest.join(" ").replace(/ -> .*$/, "") };
      });
  }
  const result = { manifest, config, digests, topLayer, rootfs };
  unpacked.set(name, result);
  return result;
}

interface RunOpts {
  user: string;
  cwd?: string;
  env: Record<string, string>;
  argv: string[];
  /** Writable folders of this machine mounted into the image. */
  binds?: { host: string; at: string }[];
  /** Empty writable folders (emptyDirs). */
  tmpfs?: string[];
}

/**
 * argv inside an unpacked image: its own mount namespace, the rootfs made
 * read-only, /dev and /proc mounted, the volumes, then chroot, chdir and the
 * uid/gid. Everything is exec'd, so the process is the program itself.
 */
function inRootfs(rootfs: string, opts: RunOpts): string[] {
  const [uid = "", gid = uid] = opts.user.split(":");
  const volumes = [...(opts.tmpfs ?? []), ...(opts.binds ?? []).map((b) => b.at)];
  for (const at of ["/dev", "/proc", ...volumes]) fs.mkdirSync(path.join(rootfs, at), { recursive: true });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const r = q(rootfs);
  const script = [
    "set -e",
    `mount --bind ${r} ${r}`,
    `mount -o remount,bind,ro ${r}`,
    `mount --rbind /dev ${r}/dev`,
    `mount -t proc proc ${r}/proc`,
    ...(opts.tmpfs ?? []).map((at) => `mount -t tmpfs -o mode=1777 tmpfs ${q(rootfs + at)}`),
    ...(opts.binds ?? []).map((b) => `mount --bind ${q(b.host)} ${q(rootfs + b.at)}`),
    `exec /usr/bin/unshare --root=${r} --wd=${q(opts.cwd ?? "/")} --setgid=${gid} --setuid=${uid} -- "$@"`,
  ].join("\n");
  return [
    "/usr/bin/unshare",
    "--mount",
    "--propagation=private",
    "/bin/sh",
    "-c",
    script,
    "sh",
    ...opts.argv,
  ];
}

function startInRootfs(rootfs: string, opts: RunOpts): ChildProcess {
  const [cmd = "", ...args] = inRootfs(rootfs, opts);
  return spawn(cmd, args, { env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
}

function runInRootfs(rootfs: string, opts: RunOpts): { status: number | null; output: string } {
  const [cmd = "", ...args] = inRootfs(rootfs, opts);
  const res = spawnSync(cmd, args, { env: opts.env, encoding: "utf8", timeout: 60_000 });
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

/** A command in a running program's container (its mounts and root), as kubelet's exec hooks and probes run. */
function execIn(pid: number, opts: RunOpts): { status: number | null; output: string } {
  const [uid = "", gid = uid] = opts.user.split(":");
  // Bare --root and --wd take the target's (a path would be this machine's).
  const args = ["--target", String(pid), "--mount", "--root", "--wd", `--setgid=${gid}`, `--setuid=${uid}`];
  const res = spawnSync("/usr/bin/nsenter", [...args, "--", ...opts.argv], {
    env: opts.env,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

const envOf = (config: ImageConfig) =>
  Object.fromEntries(config.config.Env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));

/** The runtime stage of a Dockerfile, read with plain regexes (not the builder's parser). */
function runtimeStage(app: string) {
  const text = fs.readFileSync(path.join(ROOT, "apps", app, "Dockerfile"), "utf8");
  const lines = text.split("\n");
  const stage = lines.slice(lines.findLastIndex((l) => /^FROM\s/.test(l)));
  const one = (op: string) => stage.findLast((l) => l.startsWith(`${op} `))?.slice(op.length + 1);
  const env: Record<string, string> = {};
  for (const line of stage.filter((l) => l.startsWith("ENV "))) {
    for (const m of line.slice(4).matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) {
      env[m[1] as string] = m[3] ?? (m[2] as string);
    }
  }
  return {
    user: one("USER"),
    workdir: one("WORKDIR"),
    cmd: JSON.parse(one("CMD") ?? "null") as string[],
    expose: (one("EXPOSE") ?? "").split(/\s+/).filter((p) => p !== ""),
    env,
  };
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), "utf8"));

/** Third-party dependencies of an app and of the workspace packages it uses (what its bundle requires). */
const productionDependencies = (app: string) => workspaceClosure(`apps/${app}`).thirdParty;

test("every image is a docker-archive naming its ref, with layers matching the config's diff_ids", (t) => {
  for (const line of logs) t.diagnostic(line);
  const built = Object.keys(images) as LocalImage[];
  assert.ok(built.includes("feed") && built.includes("postgres"), `built: ${built.join(", ")}`);
  for (const name of built) {
    const image = images[name] as BuiltImage;
    const { manifest, config, digests } = unpack(name);
    assert.equal(image.ref, LOCAL_IMAGE_REFS[name]);
    assert.match(image.ref, /^golive\.local\/[a-z0-9-]+:[\w.-]+$/);
    assert.notEqual(image.ref.split(":").pop(), "latest");
    assert.deepEqual(manifest[0]?.RepoTags, [image.ref]);
    assert.equal(config.architecture, "amd64");
    assert.equal(config.os, "linux");
    assert.equal(image.bytes, fs.statSync(image.tar).size);
    assert.deepEqual(config.rootfs, { type: "layers", diff_ids: digests }, name);
    const uid = Number(config.config.User.split(":")[0]);
    assert.ok(Number.isInteger(uid) && uid > 0, `${name} runs as "${config.config.User}"`);
    t.diagnostic(
      `${name}: ${image.ref} ${(image.bytes / 1024 / 1024).toFixed(1)} MiB, user ${config.config.User}`,
    );
  }
});

for (const app of APP_NAMES) {
  test(`the ${app} image is its Dockerfile's runtime stage on Node 24, with only its production dependencies`, () => {
    const { config, topLayer: appLayer } = unpack(app);
    const stage = runtimeStage(app);
    assert.equal(config.config.User, stage.user);
    assert.deepEqual(config.config.Entrypoint, ["/nodejs/bin/node"], "distroless's entrypoint");
    assert.deepEqual(config.config.Cmd, stage.cmd);
    assert.equal(config.config.WorkingDir, stage.workdir);
    const env = envOf(config);
    for (const [k, v] of Object.entries(stage.env)) {
      if (!v.includes("$")) assert.equal(env[k], v, `ENV ${k}`);
    }
    // The build stamp from the ARGs: the app's version, and the hash of what the image is built from.
    assert.equal(env.GOLIVE_VERSION, readJson(`apps/${app}/package.json`).version);
    assert.match(env.GOLIVE_COMMIT ?? "", /^local-[0-9a-f]{12}$/);
    assert.deepEqual(
      Object.keys(config.config.ExposedPorts ?? {}).sort(),
      stage.expose.map((p) => `${p}/tcp`).sort(),
    );

    // The app's own layer: root-owned, nothing writable but by root.
    const workdir = (stage.workdir as string).slice(1);
    assert.ok(
      appLayer.some((e) => e.path === `${workdir}/${stage.cmd[0]}`),
      `no ${stage.cmd[0]}`,
    );
    for (const e of appLayer) {
      assert.equal(e.owner, "0/0", `${e.path} is owned by ${e.owner}`);
      assert.ok(e.mode[0] === "l" || (e.mode[5] !== "w" && e.mode[8] !== "w"), `${e.path} is ${e.mode}`);
    }
    const installed = new Set(
      appLayer
        .map((e) => /^app\/node_modules\/((?:@[^/]+\/)?[^/]+)\/package\.json$/.exec(e.path)?.[1])
        .filter((n): n is string => n !== undefined),
    );
    for (const dep of productionDependencies(app)) assert.ok(installed.has(dep), `${app} lacks ${dep}`);
    const devOnly = [
      ...Object.keys(readJson("package.json").devDependencies),
      ...Object.keys(readJson(`apps/${app}/package.json`).devDependencies ?? {}),
    ].filter(
      (d) => !productionDependencies(app).has(d) && !d.startsWith("@golive/") && !d.startsWith("@types/"),
    );
    for (const tool of ["typescript", "tsx", "esbuild", "@biomejs/biome", "@pulumi/pulumi", "drizzle-kit"]) {
      assert.ok(devOnly.includes(tool), `${tool} is not a devDependency any more: update this list`);
    }
    // A dev tool can still arrive as some production package's dependency; these cannot.
    for (const dev of ["typescript", "tsx", "esbuild", "@biomejs/biome", "@pulumi/pulumi", "drizzle-kit"]) {
      assert.ok(!installed.has(dev), `${app} image holds ${dev}`);
    }
    assert.ok(!appLayer.some((e) => /(^|\/)\.npm\//.test(e.path)), "an npm cache in the image");
  });

  test(`the ${app} image starts its CMD on its own Node and libraries, as its user on a read-only root`, {
    skip: IS_ROOT ? false : NEEDS_ROOT,
  }, () => {
    const { config, rootfs } = unpack(app);
    const version = runInRootfs(rootfs, {
      user: config.config.User,
      env: envOf(config),
      argv: ["/nodejs/bin/node", "--version"],
    });
    assert.equal(
      version.output.trim(),
      `v${fs.readFileSync(path.join(ROOT, ".node-version"), "utf8").trim()}`,
    );
    // No config given: the app loads all its modules, then refuses to start (exit 2).
    const run = runInRootfs(rootfs, {
      user: config.config.User,
      cwd: config.config.WorkingDir,
      env: envOf(config),
      argv: [...(config.config.Entrypoint ?? []), ...(config.config.Cmd ?? [])],
    });
    assert.equal(run.status, 2, run.output);
    assert.match(run.output, /invalid (preflight environment|configuration)/);
  });
}

test("the postgres image initialises, takes a password over TCP, applies the postStart hook and runs backup.sh", {
  skip: IS_ROOT ? false : NEEDS_ROOT,
}, async () => {
  const { config, rootfs } = unpack("postgres");
  assert.equal(config.config.User, `${POSTGRES_UID}:${POSTGRES_UID}`);
  const data = fs.mkdtempSync(path.join(tmp, "pgdata-"));
  const backups = fs.mkdtempSync(path.join(tmp, "backups-"));
  fs.chownSync(data, POSTGRES_UID, POSTGRES_UID);
  fs.chownSync(backups, POSTGRES_UID, POSTGRES_UID);
  const port = await freePort();
  const env = {
    ...envOf(config),
    POSTGRES_USER: "postgres",
    POSTGRES_DB: "feed",
    POSTGRES_PASSWORD: "first-password",
    PGDATA: "/var/lib/postgresql/data/pgdata",
  };
  // As infra/components/database.ts mounts it: data volume, emptyDirs for the socket and /tmp.
  const server = startInRootfs(rootfs, {
    user: config.config.User,
    env,
    argv: [...(config.config.Entrypoint ?? []), "postgres", "-p", String(port)],
    binds: [{ host: data, at: "/var/lib/postgresql/data" }],
    tmpfs: ["/var/run/postgresql", "/tmp"],
  });
  let log = "";
  server.stdout?.on("data", (d) => {
    log += d;
  });
  server.stderr?.on("data", (d) => {
    log += d;
  });
  const exited = new Promise((resolve) => server.once("exit", resolve));
  const connect = async (password: string) => {
    const client = new Client({ host: "127.0.0.1", port, user: "postgres", database: "feed", password });
    await client.connect();
    return client;
  };
  try {
    let client: Client | undefined;
    for (let i = 0; i < 120 && !client; i++) {
      client = await connect("first-password").catch(() => undefined);
      if (!client) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(client, `postgres did not accept the password:\n${log}`);
    const row = (
      await client.query("select current_database() as db, current_setting('listen_addresses') as la")
    ).rows[0];
    await client.query("create table kept (id int); insert into kept values (1)");
    await client.end();
    assert.deepEqual(row, { db: "feed", la: "*" });
    await assert.rejects(connect("wrong"), /password authentication failed/);

    // The pod's postStart hook after a rotation: the new password over the trusted socket.
    const probe = execIn(server.pid as number, {
      user: config.config.User,
      env,
      argv: ["pg_isready", "-p", String(port)],
    });
    assert.equal(probe.status, 0, probe.output);
    const hook = execIn(server.pid as number, {
      user: config.config.User,
      env: { ...env, POSTGRES_PASSWORD: "rotated-password", PGPORT: String(port) },
      argv: APPLY_PASSWORD_HOOK,
    });
    assert.equal(hook.status, 0, hook.output);
    await (await connect("rotated-password")).end();

    // The backup CronJob's command, in this image: bash, pg_dump, GNU date/find...
    const scripts = fs.mkdtempSync(path.join(tmp, "scripts-"));
    fs.copyFileSync(path.join(ROOT, BACKUP_SCRIPT), path.join(scripts, "backup.sh"));
    // As the ConfigMap volume mounts it (defaultMode 0444).
    fs.chmodSync(scripts, 0o755);
    fs.chmodSync(path.join(scripts, "backup.sh"), 0o444);
    const backup = runInRootfs(rootfs, {
      user: config.config.User,
      env: {
        ...envOf(config),
        DATABASE_URL: `postgres://postgres:rotated-password@127.0.0.1:${port}/feed`,
        BACKUP_DIR: "/backups",
      },
      argv: ["bash", "/scripts/backup.sh"],
      tmpfs: ["/tmp"],
      binds: [
        { host: scripts, at: "/scripts" },
        { host: backups, at: "/backups" },
      ],
    });
    assert.equal(backup.status, 0, backup.output);
    assert.match(backup.output, /"msg":"backup written"/);
    assert.equal(fs.readdirSync(backups).filter((f) => f.endsWith(".dump")).length, 1);
  } finally {
    server.kill("SIGINT");
    await exited;
  }
  assert.match(log, /database system is shut down/);
});

test("the probe, kubectl, k6, coredns, pause and waf-authz images run their programs as their users", {
  skip: IS_ROOT ? false : NEEDS_ROOT,
}, (t) => {
  const checks: [LocalImage, string[], RegExp][] = [
    [
      "probe",
      ["sh", "-c", "id -u; wget --help 2>&1 | head -1; nc --help 2>&1 | head -1"],
      /^65534\n.*BusyBox/s,
    ],
    [
      "kubectl",
      ["sh", "-c", "kubectl version --client; getent passwd nonroot"],
      /Client Version: v1\.34.*nonroot:x:65532/s,
    ],
    ["k6", ["k6", "version"], /^k6 v\d/],
    ["coredns", ["/coredns", "-version"], /CoreDNS-1\./],
  ];
  for (const [name, argv, expected] of checks) {
    if (!images[name]) {
      t.diagnostic(`${name}: not built here (${logs.find((l) => l.startsWith(`${name}:`))})`);
      continue;
    }
    const { config, rootfs } = unpack(name);
    const run = runInRootfs(rootfs, { user: config.config.User, env: envOf(config), argv });
    assert.equal(run.status, 0, `${name}: ${run.output}`);
    assert.match(run.output, expected, name);
  }
  // k6 runs as its ENTRYPOINT names it, by PATH.
  if (images.k6) assert.deepEqual(unpack("k6").config.config.Entrypoint, ["k6"]);
  if (images.coredns) {
    // No file capability: under `capabilities: drop: [ALL]` exec of such a binary fails with EPERM.
    const caps = execFileSync("getcap", [path.join(unpack("coredns").rootfs, "coredns")], {
      encoding: "utf8",
    });
    assert.equal(caps.trim(), "");
  }
  if (images["waf-authz"]) {
    // A static binary alone on an empty root, as uid 65532: it starts, and
    // without its directives it stops at once, saying which setting.
    const { config, rootfs } = unpack("waf-authz");
    assert.equal(config.config.User, "65532:65532");
    assert.deepEqual(
      fs.readdirSync(rootfs).sort(),
      ["etc", "tmp", "waf-authz"],
      "no libraries: it links none",
    );
    const run = runInRootfs(rootfs, { user: config.config.User, env: envOf(config), argv: ["/waf-authz"] });
    assert.notEqual(run.status, 0);
    assert.match(run.output, /DIRECTIVES_FILE/);
  }
  if (images.pause) {
    // It waits for a signal and exits 0 on SIGTERM.
    const { config, rootfs } = unpack("pause");
    const res = spawnSync("timeout", [
      "--preserve-status",
      "-s",
      "TERM",
      "1",
      "/usr/bin/unshare",
      `--root=${rootfs}`,
      "--setuid=65535",
      "--setgid=65535",
      ...(config.config.Entrypoint ?? []),
    ]);
    assert.equal(res.status, 0, String(res.stderr));
  }
});

test("the Dockerfile reader stops at an instruction it does not know, naming the file and line", () => {
  const dir = fs.mkdtempSync(path.join(tmp, "dockerfile-"));
  const dockerfile = path.join(dir, "Dockerfile");
  const build = () =>
    buildDockerfile({
      dockerfile,
      context: dir,
      workDir: path.join(dir, "work"),
      base: (_image, final) => (final ? { kind: "runtime", config: DISTROLESS_LIKE } : { kind: "builder" }),
      runEnv: { PATH: process.env.PATH ?? "" },
    });
  fs.writeFileSync(
    dockerfile,
    "FROM node:24 AS build\nWORKDIR /src\n# a comment\nADD https://example.com/x.tgz .\n",
  );
  assert.throws(build, /Dockerfile:4: ADD https:\/\/example\.com\/x\.tgz \.: not understood/);
  fs.writeFileSync(dockerfile, "FROM node:24 AS build\nFROM runtime\nRUN echo hi\n");
  assert.throws(build, /Dockerfile:3: RUN echo hi: the runtime stage has no shell/);
  fs.writeFileSync(dockerfile, "FROM node:24 AS build\nFROM runtime\nCOPY --chown=1:1 a b\n");
  assert.throws(build, /Dockerfile:3: .*unsupported flags --chown=1:1/);
});

test("ARG takes a build argument or its default, ENV substitutes it, and an undeclared $NAME is refused", () => {
  const dir = fs.mkdtempSync(path.join(tmp, "dockerfile-"));
  const dockerfile = path.join(dir, "Dockerfile");
  const build = (buildArgs?: Record<string, string>) =>
    buildDockerfile({
      dockerfile,
      context: dir,
      workDir: fs.mkdtempSync(path.join(dir, "work-")),
      base: (_image, final) => (final ? { kind: "runtime", config: DISTROLESS_LIKE } : { kind: "builder" }),
      runEnv: { PATH: process.env.PATH ?? "" },
      buildArgs,
    });
  const env = (stage: ReturnType<typeof build>) => Object.fromEntries(stage.config.env);
  fs.writeFileSync(
    dockerfile,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile substitution, not a template
    "FROM runtime\nARG V=dev\nARG C=unknown\nENV STAMP_V=${V} STAMP_C=$C PLAIN=x\n",
  );
  assert.deepEqual([env(build()).STAMP_V, env(build()).STAMP_C, env(build()).PLAIN], ["dev", "unknown", "x"]);
  const given = env(build({ V: "1.2.3", C: "abc123" }));
  assert.deepEqual([given.STAMP_V, given.STAMP_C], ["1.2.3", "abc123"]);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile substitution, not a template
  fs.writeFileSync(dockerfile, "FROM runtime\nENV X=${NOT_AN_ARG}\n");
  assert.throws(() => build(), /Dockerfile:2: .*\$NOT_AN_ARG is not an ARG of this stage/);
  fs.writeFileSync(dockerfile, "FROM runtime\nARG NEEDED\n");
  assert.throws(() => build(), /Dockerfile:2: ARG NEEDED: no value/);
  assert.doesNotThrow(() => build({ NEEDED: "y" }), "a build argument is its value");
});

test("COPY reads the build context as .dockerignore leaves it", () => {
  const ignored = dockerignore(ROOT);
  for (const out of [
    "node_modules/x",
    "apps/feed/test/e2e.test.ts",
    "apps/feed/src/a.test.ts",
    "infra/index.ts",
    ".env",
  ]) {
    assert.ok(ignored(out), `${out} should be out of the context`);
  }
  for (const kept of ["apps/feed/src/main.ts", "proto/package.json", "package-lock.json", ".env.example"]) {
    assert.ok(!ignored(kept), `${kept} should be in the context`);
  }
});
