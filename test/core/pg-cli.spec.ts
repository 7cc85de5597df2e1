/* The command-line tool on PostgreSQL (--pg): pool create, generate, status and audit verify on a schema, the choice
   of --db or --pg, and `pool copy` of a pool file's pool that went through many states: counts, numbers and the audit
   log in PostgreSQL, verified with the pool file's hashes, a tampered copied record named, a refused copy writing
   nothing. Real PostgreSQL (test/helpers/pg.ts), a schema per test; the CLI run as a user runs it. */
import { strict as assert } from "assert";
import * as path from "path";
import { spawnSync } from "child_process";
import { Client } from "pg";
import { openPoolStore } from "../../nodes/core/store";
import { aggregationFor } from "../../nodes/core/aggregation/hierarchy";
import { auditHash } from "../../nodes/core/store/audit";
import { quoteIdent } from "../../nodes/core/store/pg";
import { testPg, TestPg, schemaDigest } from "../helpers/pg";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

/** A pool file with pool P1 taken through most states (and pool OTHER's records between P1's in the log). */
function buildFile(file: string): void {
  const s = openPoolStore(file, { actor: "line-1" });
  try {
    s.createPool({ poolId: "P1", sidClass: "custom", serialRule: { pattern: "[A-Z0-9]+", minLength: 2, maxLength: 20 }, lowThreshold: 5, isDefault: true, selectionCriteria: { GTIN: "09506000134352" } });
    s.createPool({ poolId: "OTHER", sidClass: "GS1-SGTIN" });
    const values = Array.from({ length: 60 }, (_, i) => `P${String(i).padStart(4, "0")}`);
    s.provision("P1", values.slice(0, 40), { properties: { P0000: { cryptoKey: "k0" } } });
    s.provision("OTHER", { generate: 5 });
    s.provision("P1", values.slice(40));
    const nums = s.request("Allocated", { poolSelectionCriteria: { PoolID: "P1" }, count: 30, snCollectionId: "C-A" }).snCollection.serialNumbers;
    s.applyEvent("sn_encoding", { serialNumbers: nums.slice(0, 20), labelCollection: { id: "LOT-7", properties: { lot: "7" }, labels: [{ id: nums[0], properties: { pos: "1" } }] } });
    s.applyEvent("commissioning", { serialNumbers: nums.slice(0, 14) });
    s.request("Allocated", { poolSelectionCriteria: { PoolID: "OTHER" }, count: 2 });
    s.applyEvent("shipping", { serialNumbers: nums.slice(0, 5) });
    s.applyEvent("label_scrapping", { serialNumbers: nums.slice(14, 16) });
    s.applyEvent("destroying", { serialNumbers: nums.slice(5, 6) });
    s.applyEvent("sn_invalidating", { serialNumbers: nums.slice(20, 22) });
    s.returnSerialNumbers("Allocated", { snCollection: { id: "C-A", serialNumbers: nums.slice(22, 25) } });
    s.request("Unallocated", { poolSelectionCriteria: { PoolID: "P1" }, count: 4 });
  } finally {
    s.close();
  }
}

describe("serialflow on PostgreSQL (--pg) and pool copy", function () {
  this.timeout(120_000);
  let pg: TestPg;
  let admin: Client;
  let tmp: ReturnType<typeof tmpDir>;
  const schemas: string[] = [];

  before(async function () {
    pg = await testPg();
    console.log(`      (PostgreSQL from ${pg.source})`);
    admin = new Client({ connectionString: pg.url });
    await admin.connect();
  });
  after(async function () {
    if (admin) {
      for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`).catch(() => undefined);
      await admin.end();
    }
    if (pg) await pg.dispose();
  });
  beforeEach(() => {
    tmp = tmpDir();
  });
  afterEach(() => tmp.cleanup());

  let n = 0;
  function fresh(tag: string): string {
    const s = `${pg.schema}_${tag}_${++n}`;
    schemas.push(s);
    return s;
  }
  /** SQL as a tamperer: triggers off, as the database owner can */
  async function tamper(sql: string, params: unknown[] = []): Promise<void> {
    await admin.query("SET session_replication_role = replica");
    try {
      await admin.query(sql, params);
    } finally {
      await admin.query("SET session_replication_role = DEFAULT");
    }
  }

  it("pool create, generate, status and audit verify on a schema; --db and --pg together, or neither, are refused", async () => {
    const schema = fresh("cli");
    let r = run("pool", "create", "--pg", pg.url, "--schema", schema, "--pool", "G1", "--sid-class", "GS1-SGTIN", "--gtin", "09506000134352", "--low-threshold", "100");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`created pool G1 \\(SID class GS1-SGTIN, GTIN 09506000134352\\) in schema "${schema}" of `));
    r = run("pool", "generate", "--pg", pg.url, "--schema", schema, "--pool", "G1", "--count", "250");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /generated 250 serial numbers into pool G1 \(250 Unassigned/);
    r = run("pool", "create", "--pg", pg.url, "--schema", schema, "--pool", "G2", "--sid-class", "GS1-SGTIN", "--guard", "record");
    assert.equal(r.status, 0, r.stderr);
    r = run("pool", "status", "--pg", pg.url, "--schema", schema, "--pool", "G1");
    assert.equal(r.status, 0, r.stderr);
    // the same lines as for a pool file; the first pool of a schema is its default; free Unassigned numbers are
    // available (SNRequestAllocated takes them), as in a pool file
    assert.match(r.stdout, /^pool G1 \(default\)\s+SID class GS1-SGTIN\s+guard strict\s+total 250\s+available 250\s+threshold 100\n  Unassigned\s+250\n$/);
    r = run("pool", "status", "--pg", pg.url, "--schema", schema);
    assert.match(r.stdout, /pool G2\s+SID class GS1-SGTIN\s+guard record\s+total 0/);
    // the numbers are real, stored once, and checked by the SID class
    const stored = (await admin.query(`SELECT count(DISTINCT value)::int AS n FROM ${quoteIdent(schema)}.serial_number`)).rows[0].n;
    assert.equal(stored, 250);
    r = run("audit", "verify", "--pg", pg.url, "--schema", schema);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^audit log ok: 3 records, last hash [0-9a-f]{64}\n$/);

    // refusals, each with its message
    r = run("pool", "create", "--pg", pg.url, "--schema", schema, "--pool", "G1", "--sid-class", "GS1-SGTIN");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /pool G1 already exists in schema/);
    r = run("pool", "create", "--pg", pg.url, "--schema", schema, "--pool", "G3", "--sid-class", "GS1-SGTN");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /refused \(UnknownSidClass\): pool G3: SID class "GS1-SGTN" is unknown/);
    r = run("pool", "generate", "--pg", pg.url, "--schema", schema, "--pool", "G9", "--count", "5");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no pool G9 in schema .*\(pools: G1, G2\)/);
    r = run("pool", "status", "--pg", pg.url, "--schema", schema, "--pool", "G9");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /UnknownPool.*no pool "G9"/);
    // a schema that does not exist is not made by a reading command
    const typo = `${schema}_typo`;
    schemas.push(typo);
    for (const cmd of [["pool", "status"], ["audit", "verify"]]) {
      r = run(...cmd, "--pg", pg.url, "--schema", typo);
      assert.equal(r.status, 1, cmd.join(" "));
      assert.match(r.stderr, /holds no SerialFlow pool/);
    }
    assert.equal((await admin.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1", [typo])).rows[0].n, 0, "no schema made by a typo");
    const db = path.join(tmp.dir, "x.db");
    for (const cmd of [["pool", "status"], ["audit", "verify"], ["pool", "create", "--pool", "X", "--sid-class", "GS1-SGTIN"], ["pool", "generate", "--pool", "X", "--count", "1"]]) {
      r = run(...cmd, "--db", db, "--pg", pg.url);
      assert.equal(r.status, 2, `${cmd.join(" ")} with both`);
      assert.match(r.stderr, /give either --db FILE \(a pool file\) or --pg URL \(PostgreSQL\), not both/);
      r = run(...cmd);
      assert.equal(r.status, 2, `${cmd.join(" ")} with neither`);
      assert.match(r.stderr, /give --db FILE \(a pool file\) or --pg URL \(PostgreSQL\)/);
    }
    assert.match(run("pool", "status", "--db", db, "--schema", "s").stderr, /--schema goes with --pg/);
    // a server that cannot be reached: a clear error, exit 1
    r = run("pool", "status", "--pg", "postgres://postgres@127.0.0.1:1/test");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot reach the PostgreSQL pool/);
  });

  it("pool copy moves a pool that went through many states: numbers, states, collections, properties and audit records; verify passes with the pool file's hashes", async () => {
    const schema = fresh("copy");
    const s = quoteIdent(schema);
    const db = path.join(tmp.dir, "line.db");
    buildFile(db);
    const before = dbDigest(db);
    const r = run("pool", "copy", "--db", db, "--pool", "P1", "--pg", pg.url, "--schema", schema);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.equal(dbDigest(db), before, "the pool file is not written");

    // what the file holds of P1
    const file = openPoolStore(db, { readonly: true });
    let fileRows: unknown[], fileAudit: Array<{ seq: number; hash: string; event: string }>, counts: Record<string, number>, fileColls: unknown[];
    try {
      counts = file.countByState("P1");
      fileRows = file.db.prepare(`SELECT s.value, s.state, c.id AS coll, l.id AS label, l.properties AS label_props, s.properties FROM serial_number s JOIN pool p ON p.pk = s.pool
        LEFT JOIN sn_collection c ON c.pk = s.sn_collection LEFT JOIN label_collection l ON l.pk = s.label_collection WHERE p.pool_id = 'P1' ORDER BY s.value`).all();
      fileColls = file.db.prepare("SELECT c.id, c.description, c.state, c.created, c.actor FROM sn_collection c JOIN pool p ON p.pk = c.pool WHERE p.pool_id = 'P1' ORDER BY c.id").all();
      fileAudit = file.db.prepare("SELECT seq, hash, event FROM audit WHERE pool_id = 'P1' ORDER BY seq").all() as typeof fileAudit;
    } finally {
      file.close();
    }
    // the pool went through these states (the copy is worth testing)
    for (const st of ["Unassigned", "Unallocated", "Allocated", "Encoded", "Commissioned", "Released", "Destroyed", "LabelScrapped", "SNInvalid"]) assert.ok(counts[st] > 0, `${st} in the file`);
    // the records of P1 are not contiguous in the file (OTHER's are between)
    assert.ok(fileAudit.some((a, i) => i > 0 && a.seq !== fileAudit[i - 1].seq + 1));

    // the verification the command prints: counts equal, audit verified with the file's hashes
    for (const [st, k] of Object.entries(counts)) if (k > 0) assert.match(r.stdout, new RegExp(`  ${st}\\s+file\\s+${k}\\s+PostgreSQL\\s+${k}\\n`));
    assert.match(r.stdout, /counts by state equal/);
    assert.match(r.stdout, new RegExp(`the ${fileAudit.length} copied records match their hashes in .*line\\.db \\(last: record ${fileAudit.at(-1)!.seq}, hash ${fileAudit.at(-1)!.hash}\\)`));
    assert.match(r.stdout, /the answers to 1 named request\(s\)/);
    assert.match(r.stdout, /stop using it in .*line\.db/);

    // PostgreSQL holds exactly the same numbers, states, collections, label collections and properties
    const pgRows = (await admin.query(`SELECT s.value, s.state, c.id AS coll, l.id AS label, l.properties AS label_props, s.properties FROM ${s}.serial_number s JOIN ${s}.pool p ON p.pk = s.pool
      LEFT JOIN ${s}.sn_collection c ON c.pk = s.sn_collection LEFT JOIN ${s}.label_collection l ON l.pk = s.label_collection WHERE p.pool_id = 'P1' ORDER BY s.value`)).rows;
    assert.ok(pgRows.some((x) => x.properties?.includes("cryptoKey")) && pgRows.some((x) => x.label === "LOT-7"));
    assert.deepEqual(pgRows, fileRows);
    const pgColls = (await admin.query(`SELECT c.id, c.description, c.state, c.created, c.actor FROM ${s}.sn_collection c ORDER BY c.id`)).rows;
    assert.deepEqual(pgColls, fileColls);
    const pool = (await admin.query(`SELECT p.sid_class, p.selection_criteria, p.low_threshold, p.is_default, r.pattern FROM ${s}.pool p LEFT JOIN ${s}.pool_serial_rule r ON r.pool = p.pk`)).rows;
    assert.deepEqual(pool, [{ sid_class: "custom", selection_criteria: '{"GTIN":"09506000134352"}', low_threshold: 5, is_default: true, pattern: "[A-Z0-9]+" }]);
    // the audit records: the pool_copying record, then the pool's records with their file seq and hashes
    const pgAudit = (await admin.query(`SELECT l.seq::int AS seq, a.event, src.source_seq::int AS source_seq, src.source_hash FROM ${s}.audit_link l JOIN ${s}.audit a ON a.id = l.audit
      LEFT JOIN ${s}.audit_source src ON src.audit = a.id ORDER BY l.seq`)).rows;
    assert.equal(pgAudit[0].event, "pool_copying");
    assert.deepEqual(pgAudit.slice(1).map((x) => ({ seq: x.source_seq, hash: x.source_hash, event: x.event })), fileAudit);

    // a pool status and an audit verify of the schema agree
    const st = run("pool", "status", "--pg", pg.url, "--schema", schema, "--pool", "P1");
    assert.match(st.stdout, new RegExp(`total 60 .*\\n  Unassigned\\s+${counts.Unassigned}\\n  Unallocated\\s+${counts.Unallocated}\\n`));
    const v = run("audit", "verify", "--pg", pg.url, "--schema", schema);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, new RegExp(`audit log ok: ${fileAudit.length + 1} records, last hash [0-9a-f]{64}\\n  pool P1: ${fileAudit.length} records copied from .*line\\.db match their hashes there`));

    // the pool works on in PostgreSQL: its chain continues after the copy
    const more = run("pool", "generate", "--pg", pg.url, "--schema", schema, "--pool", "P1", "--count", "10");
    assert.equal(more.status, 0, more.stderr);
    assert.equal(run("audit", "verify", "--pg", pg.url, "--schema", schema).status, 0);

    // a second copy of the same pool is refused and writes nothing
    const digest = await schemaDigest(admin, schema);
    const again = run("pool", "copy", "--db", db, "--pool", "P1", "--pg", pg.url, "--schema", schema);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /refused \(PoolExists\): pool P1 exists already in the PostgreSQL pool schema ".*" \(a copy never merges into a pool\); nothing was copied/);
    assert.deepEqual(await schemaDigest(admin, schema), digest);
    // so is a pool the file does not have, and a copy without --pg
    const unknown = run("pool", "copy", "--db", db, "--pool", "P9", "--pg", pg.url, "--schema", schema);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /UnknownPool.*no pool "P9" in the pool file .*\(pools: OTHER, P1\)/);
    assert.equal(run("pool", "copy", "--db", db, "--pool", "P1").status, 2);
    // another file's pool with a number the schema holds: refused mid-transaction, rolled back whole
    const db2 = path.join(tmp.dir, "line2.db");
    const f2 = openPoolStore(db2);
    f2.createPool({ poolId: "P2", sidClass: "custom", serialRule: { pattern: "[A-Z0-9]+", minLength: 2, maxLength: 20 } });
    f2.provision("P2", ["Z0001", "P0007", "Z0002"]);
    f2.close();
    const dup = run("pool", "copy", "--db", db2, "--pool", "P2", "--pg", pg.url, "--schema", schema);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /refused \(DuplicateSerialNumber\): 1 or more serial number\(s\) of pool P2 are stored already .*\("P0007" in pool P1\); nothing was copied/);
    assert.deepEqual(await schemaDigest(admin, schema), digest);
  });

  it("a copied record changed in PostgreSQL is named, in the schema's chain and as the pool file's record; so it is when the tamperer re-hashed the chain", async () => {
    const schema = fresh("tamper");
    const s = quoteIdent(schema);
    const db = path.join(tmp.dir, "line.db");
    buildFile(db);
    assert.equal(run("pool", "copy", "--db", db, "--pool", "P1", "--pg", pg.url, "--schema", schema).status, 0);
    // the copied commissioning record: change one of its numbers
    const target = (await admin.query(`SELECT a.id::text AS id, l.seq::int AS seq, src.source_seq::int AS source_seq FROM ${s}.audit a JOIN ${s}.audit_link l ON l.audit = a.id
      JOIN ${s}.audit_source src ON src.audit = a.id WHERE a.event = 'commissioning'`)).rows[0] as { id: string; seq: number; source_seq: number };
    await tamper(`UPDATE ${s}.audit SET serial_numbers = replace(serial_numbers, 'P', 'Q') WHERE id = $1`, [target.id]);
    let v = run("audit", "verify", "--pg", pg.url, "--schema", schema);
    assert.equal(v.status, 1);
    assert.match(v.stderr, new RegExp(`audit log BROKEN at record ${target.seq} \\(changed\\): audit record ${target.seq} was changed: its content does not match its hash \\(it is record ${target.source_seq} of the pool file .*line\\.db, copied by serialflow pool copy\\)`));

    // the tamperer re-hashes this schema's chain from that record on (head included): the chain verifies, the
    // pool file's hashes kept with the copy do not
    const links = (await admin.query(`SELECT l.seq::int AS seq, a.* FROM ${s}.audit_link l JOIN ${s}.audit a ON a.id = l.audit WHERE l.seq >= $1 ORDER BY l.seq`, [target.seq])).rows;
    let prev = (await admin.query(`SELECT hash FROM ${s}.audit_link WHERE seq = $1`, [target.seq - 1])).rows[0].hash as string;
    for (const a of links) {
      const hash = auditHash({ seq: a.seq, time: a.time, actor: a.actor, event: a.event, pool_id: a.pool_id, serial_numbers: a.serial_numbers, from_state: a.from_state, to_state: a.to_state, context: a.context, anomaly: Number(a.anomaly), method: a.method, sn_collection_id: a.sn_collection_id, label_collection_id: a.label_collection_id, prev_hash: prev });
      await tamper(`UPDATE ${s}.audit_link SET prev_hash = $2, hash = $3 WHERE seq = $1`, [a.seq, prev, hash]);
      prev = hash;
    }
    await tamper(`UPDATE ${s}.audit_head SET hash = $1`, [prev]);
    v = run("audit", "verify", "--pg", pg.url, "--schema", schema);
    assert.equal(v.status, 1);
    assert.match(v.stderr, new RegExp(`audit log BROKEN at record ${target.seq} \\(changed\\): audit record ${target.seq} \\(record ${target.source_seq} of the pool file .*line\\.db\\) was changed: its content does not match the hash it had in the pool file`));
  });

  it("a pool whose numbers are packed is refused (no aggregation tables in PostgreSQL yet), nothing written", async () => {
    const schema = fresh("packed");
    const db = path.join(tmp.dir, "line.db");
    buildFile(db);
    const store = openPoolStore(db);
    try {
      const commissioned = store.db.prepare("SELECT value FROM serial_number WHERE state = 7 ORDER BY value LIMIT 4").pluck().all() as string[];
      aggregationFor(store).pack([{ parent: commissioned[0], children: commissioned.slice(1) }]);
    } finally {
      store.close();
    }
    const r = run("pool", "copy", "--db", db, "--pool", "P1", "--pg", pg.url, "--schema", schema);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /refused \(CopyRefused\): pool P1 of .* has 3 aggregation link\(s\).*nothing was copied/);
    assert.equal((await admin.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1", [schema])).rows[0].n, 0, "the schema was not even made");
  });
});
