// The database roles of an in-cluster Postgres, applied by the first
// container of the migrations Job with the superuser's URL, before the
// migrations and before any feed pod rolls:
//
//   feed_owner  NOLOGIN  owns the database and every table (migrations run as it)
//   feed_app    NOLOGIN  DML on the tables, read-only on drizzle's journal
//   feed_a      LOGIN    member of feed_app  } take turns as DATABASE_URL's user,
//   feed_b      LOGIN    member of feed_app  } so a password rotation needs no downtime
//
// A rotation sets a new password on the login role that is *not* in use and
// makes it the active one (docs/secret-rotation.md). Pods still running with
// the old URL keep their connections and can open new ones until the grace
// period after the switch ends (VALID UNTIL on the role), so the feed rolls
// one pod at a time without a failed login. Nothing here restarts Postgres.
//
// Idempotent: every run converges the roles, grants and passwords to the
// given settings; a run with unchanged settings changes nothing visible.

import { envInt, logLevel, parseEnv } from "@golive/shared/env";
import { createLogger, maskUrl } from "@golive/shared/logger";
import { EXIT, runMain } from "@golive/shared/run-main";
import type { Client, ClientBase } from "pg";
import { z } from "zod";
import { connectWhenReachable } from "./db/connect";

export const OWNER_ROLE = "feed_owner";
export const APP_ROLE = "feed_app";
export const LOGIN_ROLES = ["feed_a", "feed_b"] as const;
export type LoginRole = (typeof LOGIN_ROLES)[number];

/** How long the step waits for a database that refuses or cannot be reached yet (db/connect.ts). */
export const DATABASE_WAIT_MS = 60_000;

/** Any value; the constant only keeps two concurrent runs from interleaving. */
const ADVISORY_LOCK_KEY = 7_252_001;

export interface RoleSettings {
  /** The login role DATABASE_URL uses from this deploy on. */
  active: LoginRole;
  passwords: Record<LoginRole, string>;
  /** How long the other login role keeps accepting new logins after a switch. */
  graceMinutes: number;
}

export interface RolesReport {
  active: LoginRole;
  /** Roles that did not exist before this run. */
  created: string[];
  /** When the inactive login role stops accepting new logins (ISO 8601). */
  inactiveValidUntil: string;
}

export const dbRolesConfigSchema = z.object({
  /** The superuser's URL (the migrations Job's Secret); never a login role's. */
  DATABASE_URL: z
    .string({ error: "is required (the superuser's postgres:// URL)" })
    .pipe(z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// connection string" })),
  FEED_LOGIN_ACTIVE: z.enum(LOGIN_ROLES, { error: `must be one of ${LOGIN_ROLES.join(", ")}` }),
  FEED_A_PASSWORD: z.string({ error: "is required" }).min(16, "must be at least 16 characters"),
  FEED_B_PASSWORD: z.string({ error: "is required" }).min(16, "must be at least 16 characters"),
  FEED_LOGIN_GRACE_MINUTES: envInt(0, 7 * 24 * 60).default(60),
  LOG_LEVEL: logLevel,
});

export async function applyDatabaseRoles(client: ClientBase, settings: RoleSettings): Promise<RolesReport> {
  const id = (name: string) => client.escapeIdentifier(name);
  const created: string[] = [];
  await client.query("begin");
  try {
    // The statements below carry passwords: keep them out of the server log,
    // including the log line an error would write (superuser-only settings).
    await client.query(
      "set local log_statement = 'none'; set local log_min_error_statement = 'panic'; set local log_min_duration_statement = -1",
    );
    await client.query("select pg_advisory_xact_lock($1)", [ADVISORY_LOCK_KEY]);

    const existing = new Set(
      (
        await client.query<{ rolname: string }>("select rolname from pg_roles where rolname = any($1)", [
          [OWNER_ROLE, APP_ROLE, ...LOGIN_ROLES],
        ])
      ).rows.map((r) => r.rolname),
    );
    const ensure = async (role: string, attributes: string) => {
      if (!existing.has(role)) {
        await client.query(`create role ${id(role)}`);
        created.push(role);
      }
      // Re-asserted every run, so a hand-made change cannot widen a role for long.
      await client.query(
        `alter role ${id(role)} ${attributes} nosuperuser nocreatedb nocreaterole noreplication nobypassrls`,
      );
    };
    await ensure(OWNER_ROLE, "nologin");
    await ensure(APP_ROLE, "nologin");
    for (const login of LOGIN_ROLES) {
      await ensure(login, "login inherit");
      if (!(await isMember(client, login, APP_ROLE)))
        await client.query(`grant ${id(APP_ROLE)} to ${id(login)}`);
      await client.query(
        `alter role ${id(login)} password ${client.escapeLiteral(settings.passwords[login])}`,
      );
    }

    // Active: no expiry. Inactive: a deadline the first time it is seen
    // inactive (an already-set deadline is kept, so reruns do not extend it).
    const inactive = LOGIN_ROLES.find((r) => r !== settings.active) as LoginRole;
    await client.query(`alter role ${id(settings.active)} valid until 'infinity'`);
    const { rows } = await client.query<{ until: string }>(
      `select to_char(coalesce(nullif(rolvaliduntil, 'infinity'), now() + make_interval(mins => $2::int))
                at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as until
         from pg_roles where rolname = $1`,
      [inactive, settings.graceMinutes],
    );
    const until = rows[0]?.until as string;
    await client.query(`alter role ${id(inactive)} valid until ${client.escapeLiteral(until)}`);

    await grantPrivileges(client);
    await client.query("commit");
    return { active: settings.active, created, inactiveValidUntil: new Date(until).toISOString() };
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw err;
  }
}

async function isMember(client: ClientBase, member: string, group: string): Promise<boolean> {
  const { rows } = await client.query(
    `select 1 from pg_auth_members m
       join pg_roles g on g.oid = m.roleid join pg_roles r on r.oid = m.member
      where g.rolname = $1 and r.rolname = $2`,
    [group, member],
  );
  return rows.length > 0;
}

/**
 * feed_owner owns the database (and so, on PostgreSQL 15+, the public
 * schema); feed_app may connect, read and write rows in public, and read
 * drizzle's migration journal (pg_dump in the backup Job reads every table).
 * Default privileges cover the tables later migrations create as feed_owner;
 * the explicit grants cover the ones that exist already (say, after a restore).
 */
async function grantPrivileges(client: ClientBase): Promise<void> {
  const id = (name: string) => client.escapeIdentifier(name);
  const owner = id(OWNER_ROLE);
  const app = id(APP_ROLE);
  const { rows } = await client.query<{ db: string }>("select current_database() as db");
  const db = id(rows[0]?.db as string);
  await client.query(`alter database ${db} owner to ${owner}`);
  await client.query(`revoke all on database ${db} from public`);
  await client.query(`grant connect, temporary on database ${db} to ${app}`);
  await client.query(`alter schema public owner to ${owner}`);
  await client.query(`revoke create on schema public from public`);

  await client.query(`alter default privileges for role ${owner} grant usage on schemas to ${app}`);
  await client.query(`alter default privileges for role ${owner} grant select on tables to ${app}`);
  await client.query(`alter default privileges for role ${owner} grant select on sequences to ${app}`);
  await client.query(
    `alter default privileges for role ${owner} in schema public grant insert, update, delete on tables to ${app}`,
  );
  await client.query(
    `alter default privileges for role ${owner} in schema public grant usage on sequences to ${app}`,
  );

  await client.query(`grant usage on schema public to ${app}`);
  await client.query(`grant select, insert, update, delete on all tables in schema public to ${app}`);
  await client.query(`grant usage, select on all sequences in schema public to ${app}`);
  const drizzle = await client.query("select 1 from pg_namespace where nspname = 'drizzle'");
  if (drizzle.rows.length > 0) {
    await client.query(`grant usage on schema drizzle to ${app}`);
    await client.query(`grant select on all tables in schema drizzle to ${app}`);
    await client.query(`grant select on all sequences in schema drizzle to ${app}`);
  }
}

if (require.main === module) {
  runMain("feed-db-roles", async () => {
    const env = parseEnv(dbRolesConfigSchema);
    const logger = createLogger("feed-db-roles", env.LOG_LEVEL);
    let client: Client | undefined;
    try {
      client = await connectWhenReachable(
        { connectionString: env.DATABASE_URL, connectionTimeoutMillis: 10_000 },
        {
          waitMs: DATABASE_WAIT_MS,
          onWait: (err) => logger.warn({ err: { message: err.message } }, "waiting for the database"),
        },
      );
      const report = await applyDatabaseRoles(client, {
        active: env.FEED_LOGIN_ACTIVE,
        passwords: { feed_a: env.FEED_A_PASSWORD, feed_b: env.FEED_B_PASSWORD },
        graceMinutes: env.FEED_LOGIN_GRACE_MINUTES,
      });
      logger.info({ database: maskUrl(env.DATABASE_URL), ...report }, "database roles applied");
      return EXIT.ok;
    } catch (err) {
      logger.error({ err: { message: (err as Error).message } }, "database roles failed");
      return EXIT.failed;
    } finally {
      await client?.end().catch(() => undefined);
    }
  });
}
