// Image layers and docker-archive tars (what `docker save` writes and
// `ctr -n k8s.io images import` reads): manifest.json, the image config, and
// one uncompressed tar per layer. Layers are written with GNU tar from a
// staging folder, sorted, with every mtime at 0 and owners set here rather
// than taken from the disk, so the same files give the same digest.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * A layer's files, staged in a folder. Everything is root-owned with group
 * and other write bits dropped, except the paths given an owner here: they
 * (and what is under them) keep their exact mode and get that owner.
 */
export class LayerDir {
  private readonly special = new Map<string, Owner>();

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  /** The staging path of an absolute image path. */
  at(imagePath: string): string {
    if (!imagePath.startsWith("/")) throw new Error(`image path ${imagePath} is not absolute`);
    return path.join(this.dir, imagePath);
  }

  /** A directory with this mode; with an owner (or a mode with bits tar would drop) it keeps both. */
  mkdir(imagePath: string, mode = 0o755, owner?: Owner): void {
    const at = this.at(imagePath);
    fs.mkdirSync(at, { recursive: true });
    fs.chmodSync(at, mode);
    if (owner || (mode & 0o7022) !== 0) this.special.set(imagePath, owner ?? { uid: 0, gid: 0 });
  }

  write(imagePath: string, content: string | Buffer, mode = 0o644): void {
    const at = this.at(imagePath);
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.rmSync(at, { force: true });
    fs.writeFileSync(at, content);
    fs.chmodSync(at, mode);
  }

  symlink(imagePath: string, target: string): void {
    const at = this.at(imagePath);
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.rmSync(at, { force: true });
    fs.symlinkSync(target, at);
  }

  /** A file or symlink (kept as a link, target verbatim) of this machine, at the same or another path. */
  copyHost(hostPath: string, imagePath = hostPath, mode?: number): void {
    const st = fs.lstatSync(hostPath);
    if (st.isSymbolicLink()) {
      this.symlink(imagePath, fs.readlinkSync(hostPath));
      return;
    }
    if (!st.isFile()) throw new Error(`${hostPath} is neither a file nor a symlink`);
    const at = this.at(imagePath);
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.rmSync(at, { force: true });
    fs.copyFileSync(hostPath, at);
    fs.chmodSync(at, mode ?? st.mode & 0o7777);
  }

  /** Writes the layer tar; returns its path, size and diff_id (sha256 of the tar). */
  pack(out: string): Layer {
    const common = [
      "--format=posix",
      "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
      "--sort=name",
      "--mtime=@0",
      "--numeric-owner",
      "--xattrs",
      "--xattrs-include=security.capability",
      "-C",
      this.dir,
    ];
    const specials = [...this.special.keys()].map((p) => p.slice(1)).sort();
    const top = fs.readdirSync(this.dir).sort();
    fs.rmSync(out, { force: true });
    execFileSync("tar", [
      "--create",
      `--file=${out}`,
      ...common,
      "--owner=0",
      "--group=0",
      "--mode=go-w",
      "--anchored",
      ...specials.map((p) => `--exclude=${p}`),
      "--",
      ...top,
    ]);
    for (const p of specials) {
      const { uid, gid } = this.special.get(`/${p}`) as Owner;
      // The directory, then what is under it (same owner, exact modes) but for
      // special paths nested in it, which come in their own turn.
      const nested = specials.filter((q) => q.startsWith(`${p}/`));
      const below = fs
        .readdirSync(this.at(`/${p}`))
        .sort()
        .map((e) => `${p}/${e}`);
      const append = (names: string[], extra: string[]) =>
        execFileSync("tar", [
          "--append",
          `--file=${out}`,
          ...common,
          `--owner=${uid}`,
          `--group=${gid}`,
          ...extra,
          "--",
          ...names,
        ]);
      append([p], ["--no-recursion"]);
      const rest = below.filter((b) => !nested.includes(b));
      if (rest.length > 0) append(rest, ["--anchored", ...nested.map((q) => `--exclude=${q}`)]);
    }
    return { file: out, bytes: fs.statSync(out).size, diffId: `sha256:${sha256File(out)}` };
  }
}

export interface Layer {
  file: string;
  bytes: number;
  /** sha256 of the uncompressed tar, as rootfs.diff_ids lists it. */
  diffId: string;
}

export function sha256File(file: string): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(4 * 1024 * 1024);
    for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/** The runtime half of an image config (what `docker inspect` shows under Config). */
export interface RunConfig {
  user: string;
  /** In order; a later key replaces an earlier one. */
  env: [string, string][];
  entrypoint: string[];
  cmd: string[];
  workdir: string;
  exposedPorts: string[];
  stopSignal?: string;
}

/** The image config JSON (OCI/Docker schema 2), with a fixed creation time. */
export function imageConfig(run: RunConfig, layers: { layer: Layer; createdBy: string }[]) {
  const created = "1970-01-01T00:00:00Z";
  const env = new Map(run.env);
  return {
    architecture: "amd64",
    os: "linux",
    created,
    config: {
      User: run.user,
      Env: [...env].map(([k, v]) => `${k}=${v}`),
      Entrypoint: run.entrypoint.length > 0 ? run.entrypoint : undefined,
      Cmd: run.cmd.length > 0 ? run.cmd : undefined,
      WorkingDir: run.workdir,
      ExposedPorts:
        run.exposedPorts.length > 0 ? Object.fromEntries(run.exposedPorts.map((p) => [p, {}])) : undefined,
      StopSignal: run.stopSignal,
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.layer.diffId) },
    history: layers.map((l) => ({ created, created_by: l.createdBy })),
  };
}

/** Writes a docker-archive tar for one image; returns its size in bytes. */
export function writeDockerArchive(opts: {
  ref: string;
  config: ReturnType<typeof imageConfig>;
  layers: Layer[];
  out: string;
  /** An empty folder to stage the archive in (removed after). */
  staging: string;
}): number {
  const { staging } = opts;
  fs.mkdirSync(staging, { recursive: true });
  try {
    const configJson = JSON.stringify(opts.config);
    const configName = `${createHash("sha256").update(configJson).digest("hex")}.json`;
    fs.writeFileSync(path.join(staging, configName), configJson);
    const layerNames: string[] = [];
    for (const layer of opts.layers) {
      const name = `${layer.diffId.slice("sha256:".length)}/layer.tar`;
      if (layerNames.includes(name)) continue;
      fs.mkdirSync(path.join(staging, path.dirname(name)), { recursive: true });
      linkOrCopy(layer.file, path.join(staging, name));
      layerNames.push(name);
    }
    const manifest = [{ Config: configName, RepoTags: [opts.ref], Layers: layerNames }];
    fs.writeFileSync(path.join(staging, "manifest.json"), JSON.stringify(manifest));
    const tmp = `${opts.out}.tmp-${process.pid}`;
    execFileSync("tar", [
      "--create",
      `--file=${tmp}`,
      "--format=posix",
      "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
      "--sort=name",
      "--mtime=@0",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "-C",
      staging,
      "--",
      ...fs.readdirSync(staging).sort(),
    ]);
    fs.renameSync(tmp, opts.out);
    return fs.statSync(opts.out).size;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function linkOrCopy(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch {
    fs.copyFileSync(from, to);
  }
}
