// A throwaway PostgreSQL cluster for one test file: initdb in a temp dir,
// pg_ctl start on a free loopback port, stopped and deleted afterwards.
// PostgreSQL refuses to run as root, so as root the server runs as the
// `postgres` user that the Debian package creates.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface TestPostgres {
  url: string;
  port: number;
  /** A connection string for another database on this cluster (created if missing). */
  database(name: string): string;
  /** The server's log file (log settings can be changed with ALTER SYSTEM + pg_reload_conf()). */
  logFile: string;
  /** Stops the server (to simulate an outage); start() brings it back on the same port. */
  stop(): void;
  start(): void;
  destroy(): void;
}

function pgBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
    : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error("PostgreSQL server binaries not found: run `npm run setup`");
  return path.join(root, versions[0], "bin");
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface TestPostgresOptions {
  /**
   * Require SCRAM password authentication on TCP (as a deployed server does)
   * with this password for the `postgres` superuser. Without it every TCP
   * login is trusted and passwords are never checked.
   */
  superuserPassword?: string;
}

export async function startTestPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const bin = pgBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-pg-"));
  const data = path.join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync("chown", ["-R", "postgres:postgres", dir]);
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args]]
      : [path.join(bin, cmd), args];
    execFileSync(file, argv, { stdio: ["ignore", "ignore", "pipe"] });
  };
  const port = await freePort();
  const auth = ["-A", "trust"];
  if (options.superuserPassword !== undefined) {
    const pwfile = path.join(dir, "pwfile");
    fs.writeFileSync(pwfile, `${options.superuserPassword}\n`, { mode: 0o600 });
    if (asRoot) execFileSync("chown", ["postgres:postgres", pwfile]);
    auth.splice(0, 2, "--auth-local=trust", "--auth-host=scram-sha-256", `--pwfile=${pwfile}`);
  }
  run("initdb", ["-D", data, "-U", "postgres", ...auth, "-E", "UTF8", "--no-sync"]);
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const start = () =>
    run("pg_ctl", [
      "-D",
      data,
      "-l",
      path.join(dir, "server.log"),
      "-o",
      serverOptions,
      "-w",
      "-t",
      "30",
      "start",
    ]);
  const stop = () => run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]);
  start();
  const created = new Set(["postgres"]);
  const login =
    options.superuserPassword === undefined
      ? "postgres"
      : `postgres:${encodeURIComponent(options.superuserPassword)}`;
  const url = (db: string) => `postgres://${login}@127.0.0.1:${port}/${db}`;
  return {
    port,
    url: url("postgres"),
    logFile: path.join(dir, "server.log"),
    database(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      if (!created.has(name)) {
        // Over the socket directory, which trusts local logins in both modes.
        execFileSync(path.join(bin, "createdb"), ["-h", dir, "-p", String(port), "-U", "postgres", name]);
        created.add(name);
      }
      return url(name);
    },
    stop,
    start,
    destroy() {
      // Smart shutdown first: it waits for the sessions still closing (a pool
      // whose end() has resolved may not have closed its sockets yet) instead
      // of sending them "terminating connection due to administrator command",
      // which a pg client with no error listener turns into an uncaught
      // exception after the test. A session that never closes is forced after 5 s.
      try {
        run("pg_ctl", ["-D", data, "-m", "smart", "-w", "-t", "5", "stop"]);
      } catch {
        try {
          stop();
        } catch {
          // already stopped
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
