/* Where a serialflow command's pool lives: a pool file (--db FILE) or a PostgreSQL schema (--pg URL [--schema S]).
   Exactly one of the two; the PostgreSQL password comes from the URL or, kept out of the command line, from the
   PGPASSWORD environment variable (node-postgres reads it); TLS from the URL (sslmode=require, sslrootcert=FILE). */
import * as path from "path";
import { ParsedArgs, UsageError } from "./args";
import { PgPoolEngine, redactUrl } from "../nodes/core/store/pg";

export type Target = { kind: "db"; file: string } | { kind: "pg"; url: string; schema: string };

/** The options a command with a choice of engine takes besides its own. */
export const TARGET_VALUES = ["db", "pg", "schema"];

export function target(p: ParsedArgs): Target {
  const one = (name: string) => p.options.get(name)?.at(-1);
  const db = one("db");
  const pg = one("pg");
  const schema = one("schema");
  if (db !== undefined && pg !== undefined) throw new UsageError("give either --db FILE (a pool file) or --pg URL (PostgreSQL), not both");
  if (db === undefined && pg === undefined) throw new UsageError("give --db FILE (a pool file) or --pg URL (PostgreSQL)");
  if (db !== undefined) {
    if (schema !== undefined) throw new UsageError("--schema goes with --pg (a PostgreSQL schema); a pool file has none");
    if (db === "") throw new UsageError("option --db needs a file name");
    return { kind: "db", file: path.resolve(db) };
  }
  if (!pg) throw new UsageError("option --pg needs a URL (postgres://user@host:port/database)");
  if (schema === "") throw new UsageError("option --schema needs a name");
  return { kind: "pg", url: pg, schema: schema ?? "serialflow" };
}

/** "schema S of postgres://user:***@host/db", for messages. */
export function pgName(t: { url: string; schema: string }): string {
  return `schema ${JSON.stringify(t.schema)} of ${redactUrl(t.url)}`;
}

/**
 * Opens the engine on a schema. `create: false` (the reading commands) refuses a schema without SerialFlow tables
 * instead of making one, so a typo in --schema or the URL never looks like an empty pool.
 */
export async function openPg(t: { url: string; schema: string }, options: { create: boolean; actor?: string; connections?: number; applicationName?: string }): Promise<PgPoolEngine> {
  return PgPoolEngine.open({
    connectionString: t.url,
    schema: t.schema,
    migrate: options.create ? true : "existing",
    defaultActor: options.actor ?? `serialflow-cli:${process.env.USER ?? "unknown"}`,
    pool: { max: options.connections ?? 2, application_name: options.applicationName ?? "serialflow-cli" },
  });
}
