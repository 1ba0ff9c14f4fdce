// Files of Debian packages as this machine has them installed (dpkg's view),
// and the shared libraries an ELF file needs (ldd), each traced back to the
// package that ships it. The local images take their libraries from here:
// the versions are exactly the installed ones, which is what ldd resolved.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  });

/** `pkg version` lines for these packages, installed; throws naming the missing ones. */
export function installedVersions(packages: string[]): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
  const format = "${Package} ${Version} ${db:Status-Abbrev}\n";
  const res = spawnSync("dpkg-query", ["-W", "-f", format, ...packages], { encoding: "utf8" });
  const lines = res.stdout.split("\n").filter((l) => l.trim() !== "");
  const installed = lines.filter((l) => l.trim().endsWith("ii"));
  const found = new Set(installed.map((l) => l.split(" ")[0]));
  const missing = packages.filter((p) => !found.has(p));
  if (missing.length > 0) {
    throw new Error(
      `Debian packages not installed: ${missing.join(", ")}: run \`apt-get install -y ${missing.join(" ")}\``,
    );
  }
  return installed
    .map((l) => l.split(" ").slice(0, 2).join(" "))
    .sort()
    .join("\n");
}

/** Every installed package and version: a cheap stand-in for a closure ldd would have to compute. */
export function allInstalledVersions(): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
  return run("dpkg-query", ["-W", "-f", "${Package} ${Version}\n"]);
}

/** Files and symlinks of an installed package (directories left out), as dpkg lists them. */
export function packageFiles(pkg: string): string[] {
  return run("dpkg", ["-L", pkg])
    .split("\n")
    .filter((p) => p.startsWith("/") && p !== "/.")
    .filter((p) => {
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      return st !== undefined && !st.isDirectory();
    });
}

/**
 * Where dpkg knows each path (the machine has a merged /usr, so ldd's
 * /lib/x86_64-linux-gnu/libstdc++.so.6 is dpkg's /usr/lib/...), and its package.
 */
export function owners(paths: string[]): Map<string, { pkg: string; dpkgPath: string }> {
  const alias = (p: string) => (p.startsWith("/usr/") ? p.slice(4) : `/usr${p}`);
  const found = new Map<string, { pkg: string; dpkgPath: string }>();
  for (const candidates of [paths, paths.map(alias)]) {
    const unresolved = candidates.filter((_, i) => !found.has(paths[i] as string));
    if (unresolved.length === 0) break;
    const res = spawnSync("dpkg", ["-S", ...unresolved], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
    for (const line of res.stdout.split("\n")) {
      const m = /^([^:,]+)(?::[\w-]+)?(?:, [^:]+)*: (\/.*)$/.exec(line);
      if (!m) continue;
      const [, pkg = "", dpkgPath = ""] = m;
      const i = candidates.indexOf(dpkgPath);
      if (i >= 0) found.set(paths[i] as string, { pkg, dpkgPath });
    }
  }
  return found;
}

export function isElf(file: string): boolean {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st?.isFile() || st.size < 4) return false;
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, 0);
    return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The shared libraries (and the loader) these ELF files need, transitively,
 * as the paths dpkg lists for them, with their packages. Throws on a library
 * ldd cannot find, or one that no package (or a package outside `allowed`)
 * ships: the image would then depend on something its cache key does not name.
 */
export function sharedLibraries(elfs: string[], allowed?: string[]): { path: string; pkg: string }[] {
  const libs = new Set<string>();
  const missing: string[] = [];
  for (const elf of elfs) {
    const res = spawnSync("ldd", [elf], { encoding: "utf8" });
    // A static binary: "not a dynamic executable" (exit 1), nothing to add.
    if (res.status !== 0) continue;
    for (const line of res.stdout.split("\n")) {
      const t = line.trim();
      if (t.includes("=> not found")) missing.push(`${elf}: ${t.split(" ")[0]}`);
      const m = /=> (\/\S+)/.exec(t) ?? /^(\/\S+) \(0x/.exec(t);
      if (m?.[1]) libs.add(m[1]);
    }
  }
  if (missing.length > 0) throw new Error(`libraries ldd cannot find:\n  ${missing.join("\n  ")}`);
  const known = owners([...libs]);
  const out: { path: string; pkg: string }[] = [];
  for (const lib of [...libs].sort()) {
    const owner = known.get(lib);
    if (!owner) throw new Error(`${lib} belongs to no Debian package`);
    if (allowed && !allowed.includes(owner.pkg)) {
      throw new Error(`${lib} comes from ${owner.pkg}, which the image's package list does not name`);
    }
    out.push({ path: owner.dpkgPath, pkg: owner.pkg });
  }
  return out;
}

/** A symlink and every link after it, down to the file (paths as on this machine). */
export function symlinkChain(file: string): string[] {
  const chain = [file];
  let current = file;
  for (let i = 0; i < 16; i++) {
    const st = fs.lstatSync(current);
    if (!st.isSymbolicLink()) return chain;
    current = path.resolve(path.dirname(current), fs.readlinkSync(current));
    chain.push(current);
  }
  throw new Error(`${file}: too many symlinks`);
}
