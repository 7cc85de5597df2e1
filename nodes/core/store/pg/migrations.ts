/* The PostgreSQL engine's schema, as numbered migrations. Each one is applied once, in its own transaction, under an
   advisory lock (two processes starting at once do not both apply it), and recorded in the schema's
   serialflow_migrations table. A database whose schema is at a higher version than this code knows is refused and
   left untouched. The tables mirror the SQLite pool file (nodes/core/store/schema.ts, same column meanings), except:
   - pool_count holds signed deltas appended by each transaction (summed when read) instead of one counter row per
     pool and state, so that concurrent writers never wait on a shared counter row;
   - the audit log is two append-only tables: `audit` (the record as the writer inserted it, with the transaction id
     that wrote it, no seq and no hash) and `audit_link` (seq, prev_hash, hash: the chain, written afterwards by the
     one chainer in transaction-id order; see chain.ts and docs/architecture.md);
   - version 2 adds `audit_source`: the seq and hashes that records copied from a pool file had there (copy.ts);
   - version 3 drops the foreign key from serial_number.sn_collection to sn_collection (the pool file has none):
     PostgreSQL checked it row by row, once per number a draw binds (100,000 trigger calls for a draw of 100,000:
     545 of 1,950 ms of the statement in EXPLAIN ANALYZE; bench/pg.bench.ts), and the engine only binds numbers to
     a collection it inserted in the same transaction (a draw, a pool copy) and deletes one only when it bound
     nothing. */
import type { ClientBase } from "pg";
import { StoreError } from "../errors";

/** `name` as a quoted SQL identifier (a schema name): any character allowed but NUL, at most 63 bytes. */
export function quoteIdent(name: string): string {
  if (typeof name !== "string" || name.length === 0) throw new StoreError("StorageError", "the PostgreSQL schema name is empty");
  if (name.includes("\0")) throw new StoreError("StorageError", "the PostgreSQL schema name contains a NUL character");
  if (Buffer.byteLength(name, "utf8") > 63) throw new StoreError("StorageError", `the PostgreSQL schema name ${JSON.stringify(name)} is longer than 63 bytes (PostgreSQL would cut it)`);
  return `"${name.replace(/"/g, '""')}"`;
}

export interface Migration {
  version: number;
  name: string;
  /** the statements, given the quoted schema name */
  sql(s: string): string;
}

const GENESIS = "0".repeat(64);

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "pools, serial numbers, collections, counters, audit log",
    sql: (s) => `
CREATE TABLE ${s}.pool (
  pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pool_id text NOT NULL UNIQUE,
  sid_class text NOT NULL,
  selection_criteria text NOT NULL,
  guard_policy text NOT NULL CHECK (guard_policy IN ('strict', 'record')),
  low_threshold integer NOT NULL,
  max_request integer NOT NULL,
  max_count bigint NOT NULL,
  is_default boolean NOT NULL,
  created text NOT NULL
);
CREATE TABLE ${s}.pool_serial_rule (
  pool bigint PRIMARY KEY REFERENCES ${s}.pool(pk),
  pattern text NOT NULL,
  min_length integer NOT NULL,
  max_length integer NOT NULL
);
CREATE TABLE ${s}.sn_collection (
  pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL UNIQUE,
  pool bigint NOT NULL REFERENCES ${s}.pool(pk),
  description text NOT NULL,
  state smallint NOT NULL,
  created text NOT NULL,
  actor text NOT NULL
);
CREATE TABLE ${s}.label_collection (
  pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL UNIQUE,
  description text NOT NULL,
  properties text NOT NULL,
  created text NOT NULL
);
CREATE TABLE ${s}.serial_number (
  value text PRIMARY KEY,
  pool bigint NOT NULL REFERENCES ${s}.pool(pk),
  state smallint NOT NULL,
  sn_collection bigint REFERENCES ${s}.sn_collection(pk),
  label_collection bigint REFERENCES ${s}.label_collection(pk),
  properties text
);
CREATE INDEX serial_number_pool_state ON ${s}.serial_number (pool, state, sn_collection);
-- the free numbers of a pool in a state, in value order: what a draw walks (FOR UPDATE SKIP LOCKED)
CREATE INDEX serial_number_free ON ${s}.serial_number (pool, state, value) WHERE sn_collection IS NULL;

CREATE TABLE ${s}.pool_count (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pool bigint NOT NULL REFERENCES ${s}.pool(pk),
  state smallint NOT NULL,
  n bigint NOT NULL
);
CREATE INDEX pool_count_pool_state ON ${s}.pool_count (pool, state);

CREATE TABLE ${s}.audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  time text NOT NULL,
  actor text NOT NULL,
  event text NOT NULL,
  pool_id text NOT NULL,
  serial_numbers text NOT NULL,
  from_state text,
  to_state text,
  context text NOT NULL,
  anomaly smallint NOT NULL,
  method text,
  sn_collection_id text,
  label_collection_id text
);
CREATE INDEX audit_xid ON ${s}.audit (xid, id);
CREATE INDEX audit_time ON ${s}.audit (time);

CREATE TABLE ${s}.audit_link (
  seq bigint PRIMARY KEY,
  audit bigint NOT NULL UNIQUE,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
-- the chain's last link and the horizon: every audit record of a transaction below it is chained
CREATE TABLE ${s}.audit_head (
  id integer PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  hash text NOT NULL,
  horizon xid8 NOT NULL
);
INSERT INTO ${s}.audit_head (id, seq, hash, horizon) VALUES (1, 0, '${GENESIS}', '0');

CREATE FUNCTION ${s}.serialflow_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME; END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON ${s}.audit FOR EACH ROW EXECUTE FUNCTION ${s}.serialflow_append_only();
CREATE TRIGGER audit_link_no_change BEFORE UPDATE OR DELETE ON ${s}.audit_link FOR EACH ROW EXECUTE FUNCTION ${s}.serialflow_append_only();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON ${s}.audit_head FOR EACH ROW EXECUTE FUNCTION ${s}.serialflow_append_only();
-- the head only follows the chain's last link, and its horizon only grows
CREATE FUNCTION ${s}.serialflow_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.horizon < OLD.horizon
     OR ((NEW.seq, NEW.hash) IS DISTINCT FROM (OLD.seq, OLD.hash)
         AND (NEW.seq IS DISTINCT FROM (SELECT max(seq) FROM ${s}.audit_link)
              OR NEW.hash IS DISTINCT FROM (SELECT hash FROM ${s}.audit_link WHERE seq = NEW.seq))) THEN
    RAISE EXCEPTION 'the audit head only follows the last audit link';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_head_guard BEFORE UPDATE ON ${s}.audit_head FOR EACH ROW EXECUTE FUNCTION ${s}.serialflow_head_guard();
`,
  },
  {
    version: 2,
    name: "audit records copied from a pool file keep their pool-file seq and hashes",
    sql: (s) => `
-- serialflow pool copy (copy.ts): each audit record copied from a SQLite pool file, with its number and hashes there,
-- so the pool file's chain can still be checked from the copy; copy = the audit id of the copy's pool_copying record
CREATE TABLE ${s}.audit_source (
  audit bigint PRIMARY KEY,
  copy bigint NOT NULL,
  source_seq bigint NOT NULL,
  source_prev_hash text NOT NULL,
  source_hash text NOT NULL
);
CREATE INDEX audit_source_copy ON ${s}.audit_source (copy, source_seq);
CREATE TRIGGER audit_source_no_change BEFORE UPDATE OR DELETE ON ${s}.audit_source FOR EACH ROW EXECUTE FUNCTION ${s}.serialflow_append_only();
`,
  },
  {
    version: 3,
    name: "no row-by-row foreign key check when a draw binds numbers to its collection",
    sql: (s) => `
-- a draw binds each number it takes to the SNCollection it has just inserted (index.ts, drawAllocated); the foreign
-- key made PostgreSQL look that collection up once per number (a trigger call per row)
ALTER TABLE ${s}.serial_number DROP CONSTRAINT IF EXISTS serial_number_sn_collection_fkey;
`,
  },
  {
    version: 4,
    name: "request tokens and answered requests: the PSS rules of the pool functions on PostgreSQL",
    sql: (s) => `
-- the next page of a request longer than the pool's maxRequest (rules.ts, request): as the pool file's request_token
CREATE TABLE ${s}.request_token (
  token text PRIMARY KEY,
  pool bigint NOT NULL,
  target smallint NOT NULL,
  sn_collection bigint NOT NULL,
  remaining bigint NOT NULL,
  expires bigint NOT NULL
);
CREATE INDEX request_token_expires ON ${s}.request_token (expires);
-- what a request with an snCollectionId answered: a repeat gets the same numbers (as the pool file's sn_request)
CREATE TABLE ${s}.sn_request (
  sn_collection bigint PRIMARY KEY,
  target smallint NOT NULL,
  count bigint NOT NULL,
  numbers text NOT NULL,
  token text NOT NULL
);
`,
  },
];

/** The schema version this code writes and reads. */
export const PG_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** advisory lock keys: (namespace, hashtext(schema)) */
export const LOCK_MIGRATE = 0x53460001;
export const LOCK_CHAIN = 0x53460002;

/** The highest applied migration of `schema`, 0 when it has none (or no migrations table). */
export async function schemaVersion(client: ClientBase, schema: string): Promise<number> {
  const s = quoteIdent(schema);
  const t = await client.query("SELECT to_regclass($1) AS t", [`${s}.serialflow_migrations`]);
  if (t.rows[0].t === null) return 0;
  const r = await client.query(`SELECT coalesce(max(version), 0)::int AS v FROM ${s}.serialflow_migrations`);
  return r.rows[0].v as number;
}

function tooNew(schema: string, version: number): StoreError {
  return new StoreError(
    "SchemaTooNew",
    `the PostgreSQL schema ${JSON.stringify(schema)} is at SerialFlow schema version ${version}; this SerialFlow knows versions 1 to ${PG_SCHEMA_VERSION}: it was written by a newer SerialFlow and was left untouched (upgrade SerialFlow)`,
  );
}

/**
 * Brings `schema` to PG_SCHEMA_VERSION: creates it when absent, then applies each missing migration in its own
 * transaction. Returns the versions applied (none when it was current). Refuses a schema at a newer version.
 */
export async function migrate(client: ClientBase, schema: string, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const s = quoteIdent(schema);
  const latest = migrations.length ? migrations[migrations.length - 1].version : 0;
  const applied: number[] = [];
  const lock = () => client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [LOCK_MIGRATE, schema]);
  await client.query("BEGIN");
  try {
    await lock();
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.serialflow_migrations (version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`);
    const v = await schemaVersion(client, schema);
    if (v > latest) throw tooNew(schema, v);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
  for (const m of migrations) {
    await client.query("BEGIN");
    try {
      await lock();
      const v = await schemaVersion(client, schema);
      if (v > latest) throw tooNew(schema, v);
      if (v >= m.version) {
        await client.query("COMMIT");
        continue;
      }
      if (v !== m.version - 1) throw new StoreError("StorageError", `the PostgreSQL schema ${JSON.stringify(schema)} is at version ${v}; migration ${m.version} needs version ${m.version - 1}`);
      await client.query(m.sql(s));
      await client.query(`INSERT INTO ${s}.serialflow_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      await client.query("COMMIT");
      applied.push(m.version);
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  }
  return applied;
}

/** Refuses (SchemaTooNew) a schema written by a newer SerialFlow, and (StorageError) one not yet migrated. */
export async function checkSchema(client: ClientBase, schema: string): Promise<void> {
  const v = await schemaVersion(client, schema);
  if (v > PG_SCHEMA_VERSION) throw tooNew(schema, v);
  if (v === 0) throw new StoreError("StorageError", `the PostgreSQL schema ${JSON.stringify(schema)} holds no SerialFlow pool (SerialFlow schema version 0): check the schema name, or create a pool there first`);
  if (v < PG_SCHEMA_VERSION) throw new StoreError("StorageError", `the PostgreSQL schema ${JSON.stringify(schema)} is at SerialFlow schema version ${v}, this SerialFlow needs ${PG_SCHEMA_VERSION}: open it with migrate enabled`);
}
