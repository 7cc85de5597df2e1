/* serialflow serve --pg (issue 17): the OPEN-SCS server on a PostgreSQL schema, started as a user starts it (the
   built CLI in its own process, on an ephemeral loopback port), called by our node-opcua client over SignAndEncrypt.
   The states end up in PostgreSQL and its audit chain verifies; packing and EPCIS documents are refused clearly (no
   tables for them there yet); a connection to PostgreSQL lost during a call is a Bad_ status, not a refusal, and the
   next call works. Real PostgreSQL (test/helpers/pg.ts). */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawn, spawnSync, ChildProcess } from "child_process";
import { Client } from "pg";
import { connectOpenScs, OpenScsClient } from "../../nodes/core/opcua";
import { PgPoolEngine, quoteIdent } from "../../nodes/core/store/pg";
import { testPg, TestPg } from "../helpers/pg";
import { tmpDir } from "../helpers/tmp";
import { until } from "../helpers/until";
import { sharedPki } from "./fixtures";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

/** A child's output so far, and a wait for a line of it. */
function watch(child: ChildProcess): { text(): string; wait(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray> } {
  let out = "";
  let exited: number | null | undefined;
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  child.once("exit", (code) => (exited = code));
  return {
    text: () => out,
    wait: (pattern, timeoutMs = 30_000) =>
      until(`a line matching ${pattern}`, () => {
        const m = pattern.exec(out);
        if (m) return m;
        if (exited !== undefined) throw Object.assign(new Error(`serialflow serve exited with ${exited} before printing ${pattern}:\n${out}`), { final: true });
        return undefined;
      }, timeoutMs).catch((err: Error) => {
        throw new Error(`${err.message}\noutput so far:\n${out}`);
      }),
  };
}

describe("serialflow serve --pg", function () {
  this.timeout(120_000);
  let pg: TestPg;
  let admin: Client;
  let tmp: ReturnType<typeof tmpDir>;

  before(async function () {
    pg = await testPg();
    admin = new Client({ connectionString: pg.url });
    await admin.connect();
    tmp = tmpDir("serialflow-serve-pg-");
  });
  after(async function () {
    await admin?.end();
    await pg?.dispose();
    tmp?.cleanup();
  });

  it("refuses --db with --pg, and a schema without SerialFlow tables (never made by serve)", async function () {
    let r = run("serve", "--db", path.join(tmp.dir, "x.db"), "--pg", pg.url, "--port", "0", "--user", "a:b:operator");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /give either --db FILE \(a pool file\) or --pg URL \(PostgreSQL\), not both/);
    assert.ok(!fs.existsSync(path.join(tmp.dir, "x.db")));
    // the spec's schema exists and is empty
    r = run("serve", "--pg", pg.url, "--schema", pg.schema, "--port", "0", "--user", "a:b:operator", "--pki", path.join(tmp.dir, "pki-refused"));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /holds no SerialFlow pool .*serialflow pool create --pg URL --schema S \.\.\. makes one/);
    assert.equal((await admin.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1", [pg.schema])).rows[0].n, 0, "no table made");
    assert.match(run("serve", "--help").stdout, /serialflow serve --db FILE \| --pg URL \[--schema S\] --port N/);
  });

  it("serves a schema's pool: SNRequestAllocated and SIDCommissioningEvent land in PostgreSQL, audited and verified; packing and EPCIS refused clearly; a lost connection is Bad_NoCommunication", async function () {
    const schema = pg.schema;
    const s = quoteIdent(schema);
    let r = run("pool", "create", "--pg", pg.url, "--schema", schema, "--pool", "G1", "--sid-class", "GS1-SGTIN", "--gtin", "09506000134352");
    assert.equal(r.status, 0, r.stderr);
    r = run("pool", "generate", "--pg", pg.url, "--schema", schema, "--pool", "G1", "--count", "200");
    assert.equal(r.status, 0, r.stderr);

    const { folder: clientPki, clientCert } = await sharedPki();
    const certFile = path.join(tmp.dir, "client.der");
    fs.writeFileSync(certFile, clientCert);
    const pki = path.join(tmp.dir, "server-pki");
    const child = spawn(process.execPath, [CLI, "serve", "--pg", pg.url, "--schema", schema, "--port", "0", "--user", "line:line-pw:operator", "--pki", pki, "--trust", certFile], { stdio: ["ignore", "pipe", "pipe"] });
    const out = watch(child);
    let c: OpenScsClient | undefined;
    let holder: Client | undefined;
    let sns: string[] = [];
    try {
      const port = Number((await out.wait(/listening on opc\.tcp:\/\/127\.0\.0\.1:(\d+)/))[1]);
      assert.match(out.text(), new RegExp(`serving 1 pool\\(s\\) of schema "${schema}" of .*: G1`));
      const serverCert = fs.readFileSync(path.join(pki, "server-certificate.der"));
      c = await connectOpenScs({ endpointUrl: `opc.tcp://127.0.0.1:${port}`, user: "line", password: "line-pw", pkiFolder: clientPki, trustServerCertificate: serverCert, maxRetry: 0, security: { mode: "SignAndEncrypt" } });

      // SNRequestAllocated, named: the same answer when repeated
      const req = await c.snRequest("Allocated", { count: 30, snCollectionId: "LINE-1-BATCH-1", poolSelectionCriteria: { GTIN: "09506000134352" } });
      assert.equal(req.returnStatus, "NoError");
      assert.equal(req.snCollection.id, "LINE-1-BATCH-1");
      assert.equal(req.snCollection.associatedPoolId, "G1");
      assert.equal(req.snCollection.state, "Allocated");
      sns = req.snCollection.serialNumbers;
      assert.equal(sns.length, 30);
      assert.equal(new Set(sns).size, 30);
      const again = await c.snRequest("Allocated", { count: 30, snCollectionId: "LINE-1-BATCH-1", poolSelectionCriteria: { GTIN: "09506000134352" } });
      assert.deepEqual(again.snCollection.serialNumbers, sns);

      // encoded, then commissioned with label properties; a number not yet encoded is refused under strict
      assert.equal((await c.event("LabelsEncodingEvent", { labelCollection: { id: "LOT-42", serialNumbers: sns.slice(0, 20), labels: sns.slice(0, 20).map((id) => ({ id, properties: { lot: "42" } })), properties: { line: "L1" } } })).returnStatus, "NoError");
      assert.equal((await c.event("SIDCommissioningEvent", { labelCollection: { serialNumbers: sns.slice(0, 10) }, context: { order: "PO-7" } })).returnStatus, "NoError");
      assert.equal((await c.event("SIDCommissioningEvent", { labelCollection: { serialNumbers: [sns[10], sns[25]] } })).returnStatus, "UnableToAcceptSIDEvents");

      // packing: no hierarchy tables in PostgreSQL yet, refused with a reason in the server's log
      const pack = await c.aggregation("packing", { elements: [{ parent: sns[0], children: { serialNumbers: sns.slice(1, 4) } }] });
      assert.equal(pack.returnStatus, "UnableToAcceptSIDEvents");
      await out.wait(/AggregationPackingEvent refused \(UnableToAcceptSIDEvents, AggregationUnavailable\): packing is not available on a PostgreSQL pool yet/);
      // an EPCIS document: refused as not supported (not as a bad document), nothing kept
      await assert.rejects(c.uploadEpcis(Buffer.from(JSON.stringify({ type: "EPCISDocument", schemaVersion: "2.0", epcisBody: { eventList: [] } }))), /CloseAndCommit failed with BadNotSupported/);
      await out.wait(/EPCISStream\.CloseAndCommit refused \(BadNotSupported\): EPCIS documents cannot be received on a PostgreSQL pool yet/);

      // the connection to PostgreSQL dies while a call waits inside its transaction (a lock held on the counters)
      holder = new Client({ connectionString: pg.url });
      await holder.connect();
      await holder.query("BEGIN");
      await holder.query(`LOCK TABLE ${s}.pool_count IN EXCLUSIVE MODE`);
      const lost = c.snRequest("Allocated", { count: 5, snCollectionId: "LOST" }).then(() => undefined, (err: unknown) => err as Error);
      const pid = await until("the request to wait inside its transaction", async () => {
        const q = await admin.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'serialflow-serve' AND wait_event_type = 'Lock' AND backend_xid IS NOT NULL AND query LIKE $1", [`%${schema}%`]);
        return q.rows[0]?.pid as number | undefined;
      });
      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      const err = await lost;
      assert.ok(err, "the call failed");
      assert.match(err.message, /SNRequestAllocated failed with BadNoCommunication/);
      await holder.query("ROLLBACK");
      await holder.end();
      holder = undefined;
      await out.wait(/SNRequestAllocated failed \(BadNoCommunication, ConnectionLost\): the connection to the PostgreSQL pool .* broke during the call/);
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM ${s}.sn_collection WHERE id = 'LOST'`)).rows[0].n, 0, "the lost call wrote nothing");
      // the next call runs on a fresh connection
      const next = await c.snRequest("Allocated", { count: 5, snCollectionId: "LOST" });
      assert.equal(next.returnStatus, "NoError");
      assert.equal(next.snCollection.serialNumbers.length, 5);
      await c.close();
      c = undefined;
    } finally {
      if (holder) await holder.end().catch(() => undefined);
      if (c) await c.close().catch(() => undefined);
      const exited = new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code))));
      child.kill("SIGTERM");
      assert.equal(await exited, 0, `serve exits 0 on SIGTERM:\n${out.text()}`);
    }

    // what PostgreSQL holds: the states, the collections, the label collection and properties, the callers in the audit
    const e = await PgPoolEngine.open({ connectionString: pg.url, schema, migrate: false });
    try {
      const counts = await e.counts("G1");
      assert.deepEqual(Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0)), { Unassigned: 165, Allocated: 15, Encoded: 10, Commissioned: 10 });
      const rows = (await admin.query(`SELECT s.value, l.id AS label, s.properties FROM ${s}.serial_number s JOIN ${s}.sn_collection c ON c.pk = s.sn_collection
        LEFT JOIN ${s}.label_collection l ON l.pk = s.label_collection WHERE c.id = 'LINE-1-BATCH-1' ORDER BY s.value`)).rows as Array<{ value: string; label: string | null; properties: string | null }>;
      assert.deepEqual(rows.map((x) => x.value), [...sns].sort(), "the batch's numbers are bound to its collection");
      const stateOf = new Map<string, string>();
      for (const x of rows) stateOf.set(x.value, (await e.getSerialNumber(x.value))!.state);
      for (const sn of sns.slice(0, 10)) assert.equal(stateOf.get(sn), "Commissioned", sn);
      for (const sn of sns.slice(10, 20)) assert.equal(stateOf.get(sn), "Encoded", `${sn} (the refused batch changed nothing)`);
      for (const sn of sns.slice(20)) assert.equal(stateOf.get(sn), "Allocated", sn);
      for (const x of rows.filter((r) => sns.slice(0, 20).includes(r.value))) {
        assert.equal(x.label, "LOT-42");
        assert.equal(JSON.parse(x.properties ?? "{}").lot, "42");
      }
      const audit = (await admin.query(`SELECT event, actor, context FROM ${s}.audit WHERE actor LIKE 'opcua:%' ORDER BY id`)).rows as Array<{ event: string; actor: string; context: string }>;
      assert.deepEqual([...new Set(audit.map((a) => a.actor))], ["opcua:line"]);
      assert.ok(audit.some((a) => a.event === "commissioning" && a.context.includes("PO-7")), "the commissioning is audited with its context");
      assert.ok(audit.some((a) => a.event === "sn_encoding"));
    } finally {
      await e.close();
    }
    const v = run("audit", "verify", "--pg", pg.url, "--schema", schema);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^audit log ok: \d+ records, last hash [0-9a-f]{64}\n$/);
  });
});
