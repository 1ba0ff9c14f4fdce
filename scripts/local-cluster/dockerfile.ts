// Builds the runtime stage of one of the project's Dockerfiles without Docker:
// each stage is a folder standing for its file system, its WORKDIR a folder in
// it. COPY reads the build context (the repository, minus .dockerignore) or an
// earlier stage; RUN runs `sh -c` on this machine in the stage's WORKDIR, with
// the PATH the caller gives (the project's Node), so commands must use paths
// relative to the WORKDIR, as ours do. Only the subset our Dockerfiles use is
// understood; anything else stops the build with the line it is on, so a
// Dockerfile change can never be silently left out of the local images.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { RunConfig } from "./image-archive";

export interface Instruction {
  op: string;
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

/** Instructions, with continuation lines joined and comments dropped (as BuildKit's parser does). */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith("#") || (line === "" && current === "")) return;
    if (current === "") start = i + 1;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      return;
    }
    const full = (current + line).trim();
    current = "";
    const op = full.split(/\s+/)[0] ?? "";
    out.push({ op: op.toUpperCase(), args: full.slice(op.length).trim(), line: start });
  });
  return out;
}

/** CMD/ENTRYPOINT: the JSON (exec) form, or the shell form as Docker wraps it. */
export function commandForm(args: string): string[] {
  if (!args.startsWith("[")) return ["/bin/sh", "-c", args];
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) {
    throw new Error(`not a JSON array of strings: ${args}`);
  }
  return parsed;
}

/** `ENV A=1 B="x y"` (and the legacy `ENV A 1`), as ordered pairs. */
export function envPairs(args: string): [string, string][] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const [key = "", ...value] = args.split(/\s+/);
    return [[key, value.join(" ")]];
  }
  const pairs: [string, string][] = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))(\s+|$)/y;
  let m: RegExpExecArray | null = re.exec(args);
  while (m) {
    const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, "$1") : (m[4] ?? m[5] ?? "");
    pairs.push([m[1] as string, value]);
    if (re.lastIndex >= args.length) return pairs;
    m = re.exec(args);
  }
  throw new Error(`cannot read ENV ${args}`);
}

/**
 * The .dockerignore of a build context as a predicate on context-relative
 * paths: a path is out when the last pattern matching it or one of its parent
 * folders is not a `!` exception (moby/patternmatcher's rules).
 */
export function dockerignore(context: string): (rel: string) => boolean {
  const file = path.join(context, ".dockerignore");
  const patterns = (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const clean = path.posix.normalize(negate ? l.slice(1).trim() : l).replace(/^\/+|\/+$/g, "");
      return { negate, re: globToRegex(clean) };
    });
  return (rel) => {
    const parts = rel.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const { negate, re } of patterns) {
      if (prefixes.some((p) => re.test(p))) excluded = !negate;
    }
    return excluded;
  };
}

function globToRegex(pattern: string): RegExp {
  const literal = (c: string) => c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*" && pattern[i + 1] === "*") {
      i++;
      if (pattern[i + 1] === "/") {
        i++;
        re += "(?:.*/)?";
      } else re += ".*";
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i);
      if (end < 0) throw new Error(`.dockerignore: unclosed [ in ${pattern}`);
      re += pattern.slice(i, end + 1);
      i = end;
    } else if (c === "\\") re += literal(pattern[++i] ?? "");
    else re += literal(c);
  }
  return new RegExp(`^${re}$`);
}

/**
 * sha256 over a file tree's paths, modes, link targets and contents, skipping
 * what `skip` rejects (context-relative paths). What a COPY from the context reads.
 */
export function hashTree(context: string, rel: string, skip: (rel: string) => boolean): string {
  const hash = createHash("sha256");
  const walk = (r: string) => {
    if (skip(r)) return;
    const abs = path.join(context, r);
    const st = fs.lstatSync(abs);
    hash.update(`${r}\0${st.mode}\0`);
    if (st.isSymbolicLink()) hash.update(fs.readlinkSync(abs));
    else if (st.isDirectory()) for (const e of fs.readdirSync(abs).sort()) walk(`${r}/${e}`);
    else hash.update(fs.readFileSync(abs));
    hash.update("\0");
  };
  walk(rel);
  return hash.digest("hex");
}

/**
 * Copies a file or a folder's contents (as Docker's COPY does) to dest. A file
 * already at a destination is unlinked first, never written through: stage
 * folders share files with the RUN cache by hard links.
 */
function copyTree(src: string, dest: string, keep: (srcAbs: string) => boolean, top = true): void {
  const st = fs.lstatSync(src);
  if (st.isDirectory()) {
    const existing = fs.lstatSync(dest, { throwIfNoEntry: false });
    if (existing && !existing.isDirectory()) fs.rmSync(dest, { force: true });
    fs.mkdirSync(dest, { recursive: true });
    if (!top) fs.chmodSync(dest, st.mode & 0o7777);
    for (const e of fs.readdirSync(src).sort()) {
      const child = path.join(src, e);
      if (keep(child)) copyTree(child, path.join(dest, e), keep, false);
    }
    return;
  }
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.rmSync(dest, { recursive: true, force: true });
  if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dest);
  else {
    fs.copyFileSync(src, dest);
    fs.chmodSync(dest, st.mode & 0o7777);
  }
}

/** What a stage starts from: a build stage runs here; the runtime stage's base is replaced by our own layers. */
export type BaseImage = { kind: "builder" } | { kind: "runtime"; config: RunConfig };

/**
 * RUN results shared between the builds of one session, by a key over
 * everything before them (BuildKit's cache, in spirit): the four Dockerfiles'
 * identical `npm ci` runs once. Snapshots are hard-linked trees, so a later
 * RUN must add files rather than edit the installed ones in place (ours do).
 */
export class RunCache {
  private readonly snapshots = new Map<string, string>();
  constructor(readonly dir: string) {}

  restore(key: string, root: string): boolean {
    const snap = this.snapshots.get(key);
    if (!snap) return false;
    fs.rmSync(root, { recursive: true, force: true });
    execFileSync("cp", ["-al", snap, root]);
    return true;
  }

  save(key: string, root: string): void {
    const snap = path.join(this.dir, key);
    fs.mkdirSync(this.dir, { recursive: true });
    execFileSync("cp", ["-al", root, snap]);
    this.snapshots.set(key, snap);
  }
}

export interface DockerfileBuild {
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  /** The build context (the repository root). */
  context: string;
  /** An empty folder for the stages; the caller removes it. */
  workDir: string;
  /** What each FROM image stands for; throw for one that has no stand-in. */
  base: (image: string, final: boolean) => BaseImage;
  /** Environment of RUN commands (PATH with the project's Node first, HOME for npm's cache). */
  runEnv: Record<string, string>;
  runCache?: RunCache;
  /** Values for the Dockerfile's ARGs (`docker build --build-arg`); an ARG not given takes its default. */
  buildArgs?: Record<string, string>;
  log?: (s: string) => void;
}

export interface RuntimeStage {
  /** Folder holding what the runtime stage adds to its base (its WORKDIR and COPYs). */
  root: string;
  config: RunConfig;
  /** The runtime stage's instructions, for the image history. */
  history: string[];
}

interface Stage {
  name: string;
  root: string;
  workdir: string;
  final: boolean;
  key: string;
  config: RunConfig;
  cmdFromBase: boolean;
  /** The ARGs declared in this stage so far, with their values (an ARG is per stage, as in Docker). */
  args: Map<string, string>;
}

/** `${NAME}` and `$NAME` of the stage's declared ARGs; any other `$` is refused by the caller. */
function substituteArgs(text: string, args: Map<string, string>, fail: (why: string) => never): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced, bare) => {
    const name = (braced ?? bare) as string;
    const value = args.get(name);
    return value ?? fail(`$${name} is not an ARG of this stage (other substitution is not supported)`);
  });
}

/** A stage's own copy: ENV, EXPOSE and the rest must not write through to the base's (shared) config. */
const copyConfig = (c: RunConfig): RunConfig => ({
  ...c,
  env: c.env.map(([k, v]) => [k, v]),
  entrypoint: [...c.entrypoint],
  cmd: [...c.cmd],
  exposedPorts: [...c.exposedPorts],
});

const sha = (...parts: string[]) => createHash("sha256").update(parts.join("\0")).digest("hex");

/** Builds every stage the way the Dockerfile says; returns the last (runtime) one. */
export function buildDockerfile(b: DockerfileBuild): RuntimeStage {
  const rel = path.relative(b.context, b.dockerfile);
  const instructions = parseDockerfile(fs.readFileSync(b.dockerfile, "utf8"));
  const lastFrom = instructions.findLastIndex((i) => i.op === "FROM");
  const ignored = dockerignore(b.context);
  const stages = new Map<string, Stage>();
  let stage: Stage | undefined;
  const history: string[] = [];

  for (const [index, ins] of instructions.entries()) {
    const where = `${rel}:${ins.line}`;
    const fail = (why: string): never => {
      throw new Error(`${where}: ${ins.op} ${ins.args}: ${why}`);
    };
    if (ins.op !== "FROM" && !stage) fail("comes before the first FROM");
    if (!["RUN", "CMD", "ENTRYPOINT", "ENV", "ARG"].includes(ins.op) && ins.args.includes("$")) {
      fail("variable substitution is not supported by this builder");
    }
    const s = stage as Stage;
    switch (ins.op) {
      case "FROM": {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
        if (!m || ins.args.startsWith("--")) fail("expected `FROM image [AS name]`");
        const [, image = "", alias] = m as RegExpExecArray;
        const final = index === lastFrom;
        const name = (alias ?? String(stages.size)).toLowerCase();
        const root = path.join(b.workDir, `stage-${stages.size}-${name}`);
        const parent = stages.get(image.toLowerCase());
        if (parent) {
          if (final) fail("the runtime stage must start from a base image, not a stage");
          execFileSync("cp", ["-al", parent.root, root]);
          stage = {
            ...parent,
            name,
            root,
            final,
            config: copyConfig(parent.config),
            args: new Map(parent.args),
          };
        } else {
          let base: BaseImage;
          try {
            base = b.base(image, final);
          } catch (err) {
            return fail((err as Error).message);
          }
          if ((base.kind === "runtime") !== final) {
            fail(final ? "the last stage needs a runtime base" : "a build stage needs a builder base");
          }
          fs.mkdirSync(root, { recursive: true });
          const config: RunConfig =
            base.kind === "runtime"
              ? copyConfig(base.config)
              : { user: "", env: [], entrypoint: [], cmd: [], workdir: "/", exposedPorts: [] };
          stage = {
            name,
            root,
            workdir: config.workdir,
            final,
            key: sha("FROM", image),
            config,
            cmdFromBase: true,
            args: new Map(),
          };
        }
        stages.set(name, stage as Stage);
        break;
      }
      case "WORKDIR": {
        s.workdir = path.posix.resolve(s.workdir, ins.args);
        s.config.workdir = s.workdir;
        fs.mkdirSync(path.join(s.root, s.workdir), { recursive: true });
        s.key = sha(s.key, "WORKDIR", s.workdir);
        break;
      }
      case "COPY": {
        if (ins.args.startsWith("[")) fail("the JSON form of COPY is not supported");
        const words = ins.args.split(/\s+/);
        const flags = words.filter((w) => w.startsWith("--"));
        const paths = words.filter((w) => !w.startsWith("--"));
        const from = flags
          .find((f) => f.startsWith("--from="))
          ?.slice("--from=".length)
          .toLowerCase();
        const unknown = flags.filter((f) => !f.startsWith("--from="));
        if (unknown.length > 0) fail(`unsupported flags ${unknown.join(" ")}`);
        if (paths.length < 2) fail("expected sources and a destination");
        const dest = paths.pop() as string;
        const destAbs = path.join(s.root, path.posix.resolve(s.workdir, dest));
        const source = from ? stages.get(from) : undefined;
        if (from && !source) fail(`no earlier stage named ${from}`);
        let key = sha(s.key, "COPY", ins.args, source?.key ?? "");
        for (const src of paths) {
          if (/[*?[]/.test(src)) fail("wildcards are not supported");
          let srcAbs: string;
          let keep: (abs: string) => boolean;
          if (source) {
            srcAbs = path.join(source.root, path.posix.resolve(source.workdir, src));
            keep = () => true;
          } else {
            const r = path.posix
              .normalize(src)
              .replace(/^(\.\/|\/)+/, "")
              .replace(/\/+$/, "");
            if (r.startsWith("..")) fail(`${src} is outside the build context`);
            if (r !== "." && ignored(r)) fail(`${src} is excluded by .dockerignore`);
            srcAbs = path.join(b.context, r);
            keep = (abs) => !ignored(path.relative(b.context, abs).split(path.sep).join("/"));
            if (fs.existsSync(srcAbs)) key = sha(key, hashTree(b.context, r, ignored));
          }
          const st = fs.lstatSync(srcAbs, { throwIfNoEntry: false });
          if (!st) fail(`${src} does not exist`);
          const target =
            st?.isDirectory() || !(dest.endsWith("/") || paths.length > 1)
              ? destAbs
              : path.join(destAbs, path.basename(src));
          copyTree(srcAbs, target, keep);
        }
        s.key = key;
        break;
      }
      case "RUN": {
        if (s.final) fail("the runtime stage has no shell (distroless); RUN belongs in a build stage");
        const flags = ins.args.match(/^(--\S+\s+)*/)?.[0] ?? "";
        const unknown = flags.split(/\s+/).filter((f) => f !== "" && !f.startsWith("--mount="));
        if (unknown.length > 0) fail(`unsupported flags ${unknown.join(" ")}`);
        // --mount=type=cache only speeds Docker up (npm's cache); npm here uses the user's.
        const command = ins.args.slice(flags.length);
        s.key = sha(s.key, "RUN", command);
        if (b.runCache?.restore(s.key, s.root)) {
          b.log?.(`  ${where} RUN ${command.slice(0, 60)}... (cached)`);
          break;
        }
        b.log?.(`  ${where} RUN ${command.slice(0, 70)}${command.length > 70 ? "..." : ""}`);
        const res = spawnSync("sh", ["-c", command], {
          cwd: path.join(s.root, s.workdir),
          env: { ...b.runEnv, ...Object.fromEntries(s.config.env) },
          encoding: "utf8",
          maxBuffer: 256 * 1024 * 1024,
        });
        if (res.status !== 0) {
          const output = `${res.stdout}${res.stderr}`.trim().split("\n").slice(-30).join("\n");
          fail(`exited with ${res.status ?? res.signal}:\n${output}`);
        }
        b.runCache?.save(s.key, s.root);
        break;
      }
      case "ARG": {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.args);
        if (!m || ins.args.includes("$")) fail("expected `ARG NAME[=default]`");
        const [, name = "", fallback] = m as RegExpExecArray;
        const value = b.buildArgs?.[name] ?? fallback;
        if (value === undefined) fail(`no value: give it a default or a build argument`);
        s.args.set(name, value as string);
        s.key = sha(s.key, "ARG", name, value as string);
        break;
      }
      case "ENV":
        for (const [k, v] of envPairs(substituteArgs(ins.args, s.args, fail))) {
          s.config.env = s.config.env.filter(([key]) => key !== k);
          s.config.env.push([k, v]);
        }
        s.key = sha(s.key, "ENV", ins.args);
        break;
      case "USER":
        s.config.user = ins.args;
        s.key = sha(s.key, "USER", ins.args);
        break;
      case "EXPOSE":
        for (const port of ins.args.split(/\s+/)) {
          if (!/^\d+(\/(tcp|udp|sctp))?$/.test(port)) fail(`bad port ${port}`);
          s.config.exposedPorts.push(port.includes("/") ? port : `${port}/tcp`);
        }
        break;
      case "CMD":
        s.config.cmd = commandForm(ins.args);
        s.cmdFromBase = false;
        break;
      case "ENTRYPOINT":
        s.config.entrypoint = commandForm(ins.args);
        if (s.cmdFromBase) s.config.cmd = [];
        break;
      default:
        fail(
          "not understood by this builder (scripts/local-cluster/dockerfile.ts): teach it, or build elsewhere",
        );
    }
    if (s?.final || (ins.op === "FROM" && index === lastFrom)) history.push(`${ins.op} ${ins.args}`);
  }
  const runtime = stage as Stage;
  if (!runtime?.final) throw new Error(`${rel}: no runtime stage`);
  return { root: runtime.root, config: runtime.config, history };
}

/**
 * A key over what the Dockerfile reads: its text, the .dockerignore, and the
 * context files each COPY takes, without building anything.
 */
export function dockerfileInputsHash(dockerfile: string, context: string): string {
  const text = fs.readFileSync(dockerfile, "utf8");
  const ignored = dockerignore(context);
  const ignoreFile = path.join(context, ".dockerignore");
  const parts = [text, fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, "utf8") : ""];
  for (const ins of parseDockerfile(text)) {
    if (ins.op !== "COPY" || ins.args.includes("--from=")) continue;
    const paths = ins.args.split(/\s+/).filter((w) => !w.startsWith("--"));
    for (const src of paths.slice(0, -1)) {
      const r = path.posix
        .normalize(src)
        .replace(/^(\.\/|\/)+/, "")
        .replace(/\/+$/, "");
      if (fs.existsSync(path.join(context, r))) parts.push(r, hashTree(context, r, ignored));
    }
  }
  return sha(...parts);
}
