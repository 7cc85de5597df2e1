/* pss-pool in PostgreSQL mode (issue 17), in Node-RED (test helper) on a real server (test/helpers/pg.ts, a fresh
   schema per spec): the pool is created on the first deploy and reused on a redeploy; serial numbers are requested
   Allocated, encoded and commissioned through the generated PSS function nodes, and PostgreSQL holds them
   Commissioned with a verifying audit chain; a forbidden event reaches a Catch node and changes nothing; a pool with
   other settings, packing, an unreachable server and a wrong password each fail clearly, the nodes red, no crash. */
import assert from "node:assert/strict";
import { Client } from "pg";
import { helper, allNodeModules, nextMessage, coreNodeModule } from "../helpers/red";
import { testPg, schemaDigest, allLinked, embeddedAvailable, ownPg, type TestPg, type OwnPg } from "../helpers/pg";
import { freePort } from "../helpers/net";
import { until } from "../helpers/until";
import { PgPoolEngine } from "../../nodes/core/store/pg";

type Msg = Record<string, any>;

const POOL = "PGLINE";
const GTIN = "09506000134352";

/** The URL without its password, and the password apart (as the node keeps it: a credential). */
function split(url: string): { url: string; password?: string } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = "";
  return { url: u.toString(), password };
}

function flow(pgUrl: string, schema: string, extra: Record<string, unknown> = {}): any[] {
  const fn = (id: string, type: string, wires: string, more: Record<string, unknown> = {}) =>
    ({ id, z: "t", type, name: "", pool: "pool", snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [[wires]], ...more });
  return [
    { id: "t", type: "tab", label: "postgres pool" },
    {
      id: "pool", type: "pss-pool", name: "", mode: "postgres", pgUrl, pgSchema: schema, pgTls: false, pgCaFile: "", poolId: POOL, sidClass: "GS1-SGTIN",
      criteria: [{ key: "GTIN", value: GTIN }], guardPolicy: "strict", lowThreshold: 10, maxRequest: 100, ...extra,
    },
    { id: "admin", z: "t", type: "pss-pool-admin", pool: "pool", action: "generate", count: 40, wires: [["adminOut"], ["adminLow"]] },
    { id: "adminOut", z: "t", type: "helper" },
    { id: "adminLow", z: "t", type: "helper" },
    fn("req", "pss-sn-request-allocated", "reqOut"),
    { id: "reqOut", z: "t", type: "helper" },
    fn("enc", "pss-labels-encoding", "encOut"),
    { id: "encOut", z: "t", type: "helper" },
    fn("com", "pss-sid-commissioning", "comOut", { context: JSON.stringify({ lot: "L7", expiry: "291231" }) }),
    { id: "comOut", z: "t", type: "helper" },
    fn("ship", "pss-sid-shipping", "shipOut"),
    { id: "shipOut", z: "t", type: "helper" },
    fn("pack", "pss-aggregation-packing", "packOut"),
    { id: "packOut", z: "t", type: "helper" },
    { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "t", type: "helper" },
  ];
}

const modules = () => [...allNodeModules(), coreNodeModule("25-catch")] as any;

/** The texts of the statuses node `id` showed, in order. */
function statuses(id: string): Array<{ fill?: string; text?: string }> {
  return ((helper.getNode(id) as any).status.args as Array<Array<{ fill?: string; text?: string }>>).map((a) => a[0] ?? {});
}

async function send(id: string, out: string, payload: unknown): Promise<Msg> {
  const got = nextMessage(out, 30_000);
  helper.getNode(id).receive({ payload });
  return got;
}

describe("pss-pool in PostgreSQL mode (Node-RED test helper)", function () {
  this.timeout(120_000);
  let pg: TestPg;
  let admin: Client;
  let engine: PgPoolEngine;
  let conn: { url: string; password?: string };
  const credentials = () => (conn.password !== undefined ? { pool: { password: conn.password } } : {});

  before(async function () {
    pg = await testPg();
    conn = split(pg.url);
    admin = new Client({ connectionString: pg.url });
    await admin.connect();
    await helper.startServer();
  });
  after(async function () {
    await helper.stopServer();
    await engine?.close();
    await admin?.end();
    await pg?.dispose();
  });
  afterEach(async function () {
    await helper.unload();
  });

  /** the test's own engine on the schema, once the node has migrated it */
  async function ours(): Promise<PgPoolEngine> {
    engine ??= await PgPoolEngine.open({ connectionString: pg.url, schema: pg.schema, migrate: false });
    return engine;
  }
  const poolsCreated = async () => (await admin.query(`SELECT count(*)::int AS n FROM "${pg.schema}".audit WHERE event = 'pool_creating' AND pool_id = $1`, [POOL])).rows[0].n as number;

  it("the first deploy creates the pool (audited); numbers are requested Allocated, encoded and commissioned through the PSS nodes; PostgreSQL holds them Commissioned and the audit chain verifies", async function () {
    await helper.load(modules(), flow(conn.url, pg.schema), credentials());
    await until("the pool to be created", async () => ((await admin.query("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'pool'", [pg.schema])).rowCount ? (await poolsCreated()) || undefined : undefined));
    const e = await ours();
    const stored = (await e.pools()).find((p) => p.poolId === POOL);
    assert.ok(stored, "the pool exists in the schema");
    assert.equal(stored.sidClass, "GS1-SGTIN");
    assert.deepEqual(stored.selectionCriteria, { GTIN, PoolID: POOL });
    assert.equal(stored.lowThreshold, 10);
    assert.equal(stored.maxRequest, 100);
    const creating = (await admin.query(`SELECT actor FROM "${pg.schema}".audit WHERE event = 'pool_creating'`)).rows;
    assert.deepEqual(creating, [{ actor: "node-red:pool" }]);

    // pss-pool-admin generates numbers into it and reports its status
    const gen = await send("admin", "adminOut", {});
    assert.equal(gen.payload.added, 40);
    assert.equal(gen.payload.status.available, 40);
    assert.equal(gen.payload.status.counts.Unassigned, 40);

    const r = await send("req", "reqOut", { count: 6, snCollectionId: "ORDER-1" });
    assert.equal(r.payload.returnStatus, "NoError");
    const sns: string[] = r.payload.snCollection.serialNumbers;
    assert.equal(sns.length, 6);
    assert.equal(r.payload.snCollection.associatedPoolId, POOL);
    for (const sn of sns) assert.equal((await e.getSerialNumber(sn))?.state, "Allocated");

    const enc = await send("enc", "encOut", { labelCollection: { id: "LC-1", serialNumbers: sns, labelCollectionProperties: { lot: "L7", expiry: "291231" } } });
    assert.equal(enc.payload.returnStatus, "NoError");
    const com = await send("com", "comOut", { serialNumbers: sns });
    assert.equal(com.payload.returnStatus, "NoError");
    for (const sn of sns) {
      const info = await e.getSerialNumber(sn);
      assert.equal(info?.state, "Commissioned", sn);
      assert.equal(info?.labelCollectionId, "LC-1");
    }
    const counts = await e.counts(POOL);
    assert.equal(counts.Commissioned, 6);
    assert.equal(counts.Unassigned, 34);
    const trail = (await admin.query(`SELECT event, actor, from_state, to_state, context FROM "${pg.schema}".audit WHERE pool_id = $1 ORDER BY id`, [POOL])).rows;
    assert.deepEqual(trail.map((t) => t.event), ["pool_creating", "sn_adding", "provisioning", "sn_allocating", "sn_encoding", "commissioning"]);
    assert.equal(trail.at(-1).actor, "node-red:com");
    assert.equal(Object.fromEntries(JSON.parse(trail.at(-1).context)).lot, "L7", "the node's event context is audited");
    const v = await e.verifyAudit();
    assert.equal(v.ok, true, JSON.stringify(v));
  });

  it("a forbidden event reaches a Catch node with a clear message and the store unchanged", async function () {
    await helper.load(modules(), flow(conn.url, pg.schema), credentials());
    const r = await send("req", "reqOut", { count: 2 });
    const sns: string[] = r.payload.snCollection.serialNumbers;
    await allLinked(admin, pg.schema);
    const before = await schemaDigest(admin, pg.schema);
    const caught = await send("ship", "caught", { serialNumbers: sns });
    assert.equal(caught.error.code, "TransitionForbidden");
    assert.match(caught.error.message, /SIDShippingEvent refused/);
    assert.ok(caught.error.message.includes(sns[0]), "the message names the number");
    assert.match(caught.error.message, /Allocated/);
    assert.deepEqual(await schemaDigest(admin, pg.schema), before);
    // and a number of no pool of this node: refused, named
    const stranger = await send("com", "caught", { serialNumbers: ["NOSUCH0001"] });
    assert.equal(stranger.error.code, "UnknownSerialNumber");
    assert.match(stranger.error.message, /NOSUCH0001/);
    assert.deepEqual(await schemaDigest(admin, pg.schema), before);
  });

  it("packing on a PostgreSQL pool is refused as not built yet, saying that it needs a local pool", async function () {
    await helper.load(modules(), flow(conn.url, pg.schema), credentials());
    await allLinked(admin, pg.schema);
    const before = await schemaDigest(admin, pg.schema);
    const caught = await send("pack", "caught", { parent: "CASE0001", children: ["X0001"] });
    assert.equal(caught.error.code, "NotSupported", caught.error.message);
    assert.match(caught.error.message, /local \(SQLite\) pool/);
    assert.deepEqual(await schemaDigest(admin, pg.schema), before);
  });

  it("a redeploy reuses the pool (no second pool_creating record); a node with other settings is refused, its users red, nothing changed", async function () {
    await helper.load(modules(), flow(conn.url, pg.schema), credentials());
    const first = await send("req", "reqOut", { count: 1 });
    assert.equal(first.payload.returnStatus, "NoError");
    await helper.unload();
    await helper.load(modules(), flow(conn.url, pg.schema), credentials());
    const again = await send("req", "reqOut", { count: 1 });
    assert.equal(again.payload.returnStatus, "NoError");
    assert.notEqual(again.payload.snCollection.serialNumbers[0], first.payload.snCollection.serialNumbers[0]);
    assert.equal(await poolsCreated(), 1, "created once, reused on the redeploy");
    await helper.unload();
    // closing the pool node closed its connections (the engine's and the pool-low listener's)
    await until("the node's connections to close", async () => ((await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'serialflow-node-red'")).rows[0].n === 0 ? true : undefined), 10_000);

    await allLinked(admin, pg.schema);

    const before = await schemaDigest(admin, pg.schema);
    await helper.load(modules(), flow(conn.url, pg.schema, { guardPolicy: "record", lowThreshold: 5 }), credentials());
    const pool = helper.getNode("pool") as any;
    await until("the pool to refuse its settings", () => pool.failure ?? undefined);
    assert.equal(pool.failure.code, "PoolSettingsDiffer");
    assert.match(pool.failure.message, /state guard strict \(node: record\)/);
    assert.match(pool.failure.message, /low threshold 10 \(node: 5\)/);
    await until("the request node to show red", () => (statuses("req").at(-1)?.fill === "red" ? true : undefined));
    assert.equal(statuses("req").at(-1)?.text, "PoolSettingsDiffer");
    const caught = await send("req", "caught", { count: 1 });
    assert.equal(caught.error.code, "PoolSettingsDiffer");
    assert.deepEqual(await schemaDigest(admin, pg.schema), before);
  });

  it("a request that leaves the pool under its threshold: every instance is told (NOTIFY), pss-pool-admin's second output says so", async function () {
    await helper.load(modules(), flow(conn.url, pg.schema), credentials());
    const st = await send("admin", "adminOut", { action: "status" });
    const available: number = st.payload.status.available;
    assert.ok(available > 5 && available - 5 <= 100, `a count one request can take (${available} free)`);
    const low = nextMessage("adminLow", 30_000);
    const r = await send("req", "reqOut", { count: available - 5 });
    assert.equal(r.payload.snCollection.serialNumbers.length, available - 5);
    const told = await low;
    assert.equal(told.topic, "pool-low");
    assert.deepEqual(told.payload, { poolId: POOL, available: 5, threshold: 10 });
  });

  it("an unreachable server: the pool fails with ConnectionLost and a clear message, its users red, each message caught; Node-RED goes on", async function () {
    const port = await freePort();
    await helper.load(modules(), flow(`postgres://postgres@127.0.0.1:${port}/pools`, "serialflow"), {});
    const pool = helper.getNode("pool") as any;
    await until("the pool to fail", () => pool.failure ?? undefined);
    assert.equal(pool.failure.code, "ConnectionLost");
    assert.match(pool.failure.message, new RegExp(`pool ${POOL} \\(PostgreSQL postgres://postgres@127\\.0\\.0\\.1:${port}/pools schema "serialflow"\\): cannot reach the PostgreSQL pool`));
    await until("the users to show red", () => (["req", "admin"].every((id) => statuses(id).at(-1)?.fill === "red") ? true : undefined));
    assert.equal(statuses("req").at(-1)?.text, "ConnectionLost");
    const caught = await send("req", "caught", { count: 1 });
    assert.equal(caught.error.code, "ConnectionLost");
    assert.match(caught.error.message, /cannot reach the PostgreSQL pool/);
  });

  it("a URL with a password in it is refused (the flow file would keep it): the pool says where the password goes", async function () {
    await helper.load(modules(), flow("postgres://postgres:secret@127.0.0.1:5432/pools", "serialflow"), {});
    const pool = helper.getNode("pool") as any;
    assert.match(pool.failure.message, /holds a password: remove it from the URL/);
    assert.doesNotMatch(pool.failure.message, /secret/);
    assert.deepEqual(statuses("req").at(-1), { fill: "red", shape: "ring", text: "pool unavailable" });
    const caught = await send("req", "caught", { count: 1 });
    assert.equal(caught.error.code, "PoolUnavailable");
    assert.match(caught.error.message, /holds a password/);
  });

  describe("on a server with password authentication", function () {
    let own: OwnPg | undefined;
    before(async function () {
      // the machine's test server trusts loopback: a throwaway server of its own checks passwords
      const why = await embeddedAvailable();
      if (why) {
        console.log(`      (skipped: ${why})`);
        this.skip();
      }
      own = await ownPg();
    });
    after(async function () {
      await own?.stop();
    });

    it("a wrong password: AuthenticationFailed with a clear message, users red, messages caught; the right one (a credential) works", async function () {
      const o = own!;
      await helper.load(modules(), flow(o.url, "serialflow"), { pool: { password: "wrong" } });
      const pool = helper.getNode("pool") as any;
      await until("the pool to fail", () => pool.failure ?? undefined);
      assert.equal(pool.failure.code, "AuthenticationFailed");
      assert.match(pool.failure.message, /refused the login/);
      assert.match(pool.failure.message, /check the user and the password/);
      assert.doesNotMatch(pool.failure.message, /wrong/, "the password is not shown");
      await until("the request node to show red", () => (statuses("req").at(-1)?.fill === "red" ? true : undefined));
      assert.equal(statuses("req").at(-1)?.text, "AuthenticationFailed");
      const caught = await send("req", "caught", { count: 1 });
      assert.equal(caught.error.code, "AuthenticationFailed");
      await helper.unload();

      await helper.load(modules(), flow(o.url, "serialflow"), { pool: { password: o.password } });
      const gen = await send("admin", "adminOut", {});
      assert.equal(gen.payload.added, 40);
      const r = await send("req", "reqOut", { count: 3 });
      assert.equal(r.payload.snCollection.serialNumbers.length, 3);
    });
  });
});
