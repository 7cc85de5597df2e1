/* PgPoolBackend (nodes/common/pg-backend.ts): the PoolBackend the function nodes see, over the PostgreSQL engine,
   on a real server (test/helpers/pg.ts, a fresh schema): requests with paging, events held to this pool, returns,
   pushes, the guard's dry run, status with the free count the pool file uses, generate, import (refusals name the
   line, store nothing; imported AI data kept), the sidebar's recent events, aggregation refused as not built. */
import { strict as assert } from "assert";
import { Client } from "pg";
import { PgPoolEngine, type PoolLowInfo } from "../../nodes/core/store/pg";
import { PgPoolBackend } from "../../nodes/common/pg-backend";
import { testPg, schemaDigest, allLinked, type TestPg } from "../helpers/pg";
import { until } from "../helpers/until";

type Coded = Error & { code?: string; details?: Array<{ serialNumber?: string; reason: string }> };

const ACTOR = "node-red:test";
const RU_GTIN = "04601234567893";
const tail = (c: string) => c.repeat(44).slice(0, 44);

describe("PgPoolBackend (PostgreSQL pool behind the PoolBackend contract)", function () {
  this.timeout(60_000);
  let pg: TestPg;
  let engine: PgPoolEngine;
  let admin: Client;
  let backend: PgPoolBackend;
  let freed = 0;

  before(async function () {
    pg = await testPg();
    engine = await PgPoolEngine.open({ connectionString: pg.url, schema: pg.schema });
    admin = new Client({ connectionString: pg.url });
    await admin.connect();
    await engine.createPool({ poolId: "P", sidClass: "GS1-SGTIN", selectionCriteria: { PoolID: "P", GTIN: "09506000134352" }, lowThreshold: 10, maxRequest: 20 });
    await engine.createPool({ poolId: "Q", sidClass: "GS1-SGTIN", selectionCriteria: { PoolID: "Q" } });
    backend = new PgPoolBackend(engine, { poolId: "P", criteria: { PoolID: "P" }, maxPage: 20, onFreed: () => freed++ });
  });
  after(async function () {
    await engine?.close();
    await admin?.end();
    await pg?.dispose();
  });

  // every committed record linked first: the chain is written in the background after each call
  const digest = async () => {
    await allLinked(admin, pg.schema);
    return schemaDigest(admin, pg.schema);
  };
  const stateOf = async (sn: string) => (await engine.getSerialNumber(sn))?.state;

  it("generate adds Unassigned numbers; status counts them free, as the pool file does (a request can take them)", async () => {
    const r = await backend.generate(50, ACTOR);
    assert.equal(r.added, 50);
    assert.equal(freed, 1, "a top-up is told (the level event clears a 'pool low' status)");
    const st = await backend.status();
    assert.equal(st.poolId, "P");
    assert.equal(st.counts.Unassigned, 50);
    assert.equal(st.available, 50, "free Unassigned numbers are available: SNRequestAllocated takes them");
    assert.equal(st.threshold, 10);
  });

  it("requests page at the pool's maxRequest with a token, never the same number twice; a pool-low NOTIFY only once under the threshold", async () => {
    const told: PoolLowInfo[] = [];
    const stop = await engine.onPoolLow((i) => told.push(i));
    try {
      const first = await backend.request("Allocated", { count: 30, snCollectionId: "C-30" }, ACTOR);
      assert.equal(first.returnStatus, "NoError");
      assert.equal(first.snCollection.serialNumbers.length, 20);
      assert.equal(first.snCollection.associatedPoolId, "P");
      assert.ok(first.returnedRequestToken, "a token for the next page");
      const second = await backend.request("Allocated", { count: 30, requestToken: first.returnedRequestToken }, ACTOR);
      assert.equal(second.snCollection.id, "C-30");
      assert.equal(second.snCollection.serialNumbers.length, 10);
      assert.equal(second.returnedRequestToken, "");
      const all = [...first.snCollection.serialNumbers, ...second.snCollection.serialNumbers];
      assert.equal(new Set(all).size, 30);
      for (const sn of all) assert.equal(await stateOf(sn), "Allocated");
      assert.equal((await backend.status()).available, 20);
      // 20 free, threshold 10: not low. Before the fix the engine counted only free Unallocated numbers (0 here)
      // and told "low" after every request of a freshly generated pool
      const third = await backend.request("Allocated", { count: 15, snCollectionId: "C-15" }, ACTOR);
      assert.equal(third.snCollection.serialNumbers.length, 15);
      await until("the low notification", () => (told.length ? true : undefined));
      assert.deepEqual(told, [{ schema: pg.schema, pool: "P", free: 5, threshold: 10 }]);
    } finally {
      await stop();
    }
  });

  it("a repeated request with the same snCollectionId answers the same numbers (a retry after a lost answer)", async () => {
    const again = await backend.request("Allocated", { count: 15, snCollectionId: "C-15" }, ACTOR);
    const coll = (await admin.query(`SELECT count(*)::int AS n FROM "${pg.schema}".serial_number s JOIN "${pg.schema}".sn_collection c ON c.pk = s.sn_collection WHERE c.id = 'C-15'`)).rows[0].n;
    assert.equal(again.snCollection.serialNumbers.length, 15);
    assert.equal(coll, 15, "nothing new was taken");
  });

  it("events: encoding then commissioning move the numbers, with the label collection's lot; the guard's dry run agrees", async () => {
    const got = (await backend.request("Allocated", { count: 5, snCollectionId: "C-EV" }, ACTOR)).snCollection.serialNumbers;
    let check = await backend.checkEvent("commissioning", got);
    assert.equal(check.allowed.length, 0);
    assert.equal(check.refused.length, 5);
    const enc = await backend.applyEvent("sn_encoding", { serialNumbers: got, labelCollection: { id: "LC-EV", properties: { lot: "L1", expiry: "291231" } } }, ACTOR);
    assert.deepEqual(enc, { returnStatus: "NoError", applied: 5, anomalies: 0 });
    check = await backend.checkEvent("commissioning", got);
    assert.deepEqual(check.allowed.map((a) => [a.state, a.to]), got.map(() => ["Encoded", "Commissioned"]));
    await backend.applyEvent("commissioning", { serialNumbers: got, context: { line: "L1" } }, ACTOR);
    for (const sn of got) assert.equal(await stateOf(sn), "Commissioned");
    const recent = await backend.recentEvents(3);
    assert.equal(recent[0].event, "commissioning");
    assert.equal(recent[0].fromState, "Encoded");
    assert.equal(recent[0].toState, "Commissioned");
    assert.equal(recent[0].method, "SIDCommissioningEvent");
    assert.equal(recent[0].count, 5);
    assert.equal(recent[0].actor, ACTOR);
    assert.equal(recent[1].event, "sn_encoding");
    assert.ok(recent[0].seq > recent[1].seq, "linked into the chain, newest first");
  });

  it("an event on numbers of another pool of the schema is refused (the numbers must be in this pool); nothing changes", async () => {
    await engine.generateNumbers("Q", 3);
    const q = (await engine.request("Allocated", { count: 3, poolSelectionCriteria: { PoolID: "Q" } })).snCollection.serialNumbers;
    const before = await digest();
    await assert.rejects(
      () => backend.applyEvent("sn_encoding", { serialNumbers: q }, ACTOR),
      (e: Coded) => e.code === "UnknownSerialNumber" && /not in pool P/.test(e.message) && e.details?.length === 3,
    );
    assert.deepEqual(await digest(), before);
  });

  it("a forbidden event is refused whole with the reason; nothing changes", async () => {
    await backend.generate(20, ACTOR);
    const got = (await backend.request("Allocated", { count: 2, snCollectionId: "C-FB" }, ACTOR)).snCollection.serialNumbers;
    const before = await digest();
    await assert.rejects(
      () => backend.applyEvent("shipping", { serialNumbers: got }, ACTOR),
      (e: Coded) => e.code === "TransitionForbidden" && e.message.includes(got[0]) && /Allocated/.test(e.message),
    );
    assert.deepEqual(await digest(), before);
  });

  it("returns give allocated numbers back free (and tell a top-up); pushes add unknown numbers and walk them forward", async () => {
    const got = (await backend.request("Allocated", { count: 2, snCollectionId: "C-RET" }, ACTOR)).snCollection.serialNumbers;
    const was = freed;
    const avail = (await backend.status()).available;
    assert.deepEqual(await backend.returnSerialNumbers("Allocated", { snCollection: { id: "C-RET", serialNumbers: got } }, ACTOR), { returnStatus: "NoError" });
    assert.equal(freed, was + 1);
    for (const sn of got) assert.equal(await stateOf(sn), "Unallocated");
    assert.equal((await backend.status()).available, avail + 2);
    const pushed = ["PUSH000001", "PUSH000002"];
    await backend.pushTo("Encoded", { snCollection: { id: "C-PUSH", serialNumbers: pushed } }, ACTOR);
    for (const sn of pushed) assert.equal(await stateOf(sn), "Encoded");
    assert.equal((await engine.getSerialNumber(pushed[0]))?.poolId, "P");
  });

  it("packing and unpacking are refused as not built on PostgreSQL, naming what to do; nothing changes", async () => {
    const before = await digest();
    for (const ev of ["packing", "unpacking"] as const) {
      await assert.rejects(
        () => backend.aggregate(ev, { elements: [{ parent: "00095060001343520001", children: ["PUSH000001"] }] }, ACTOR),
        (e: Coded) => e.code === "NotSupported" && /not built yet/.test(e.message) && /local \(SQLite\) pool/.test(e.message),
      );
    }
    assert.deepEqual(await digest(), before);
  });

  it("import: bad lines, numbers twice in the file or stored already are refused with their line, storing nothing; a sound file is stored", async () => {
    const before = await digest();
    await assert.rejects(() => backend.importText("IMP0001\nbad line here\nIMP0002\n", ACTOR), (e: Coded) => e.code === "InvalidImportFile" && /line 2/.test(e.message));
    await assert.rejects(() => backend.importText("IMP0001\nIMP0002\nIMP0001\n", ACTOR), (e: Coded) => e.code === "InvalidImportFile" && /line 3: serial "IMP0001" repeats line 1/.test(e.message));
    await assert.rejects(() => backend.importText("# order 7\nIMP0001\nPUSH000001\n", ACTOR), (e: Coded) => e.code === "DuplicateSerialNumber" && /line 3: "PUSH000001" is already in the store/.test(e.message));
    assert.deepEqual(await digest(), before, "refused imports store nothing");
    const progress: number[] = [];
    const was = freed;
    const r = await backend.importText("# order 8\nIMP0001\nIMP0002\n\nIMP0003\n", ACTOR, (n, total) => progress.push(n / total));
    assert.equal(r.added, 3);
    assert.equal(freed, was + 1);
    assert.equal(progress[progress.length - 1], 1);
    for (const sn of ["IMP0001", "IMP0002", "IMP0003"]) assert.equal(await stateOf(sn), "Unassigned");
  });

  it("import keeps the AI data of each code (crypto key 91 and code 92) as the number's properties; serialProperties reads them", async () => {
    await engine.createPool({ poolId: "RU", sidClass: "RU-CHESTNY-ZNAK", selectionCriteria: { PoolID: "RU" } });
    const ru = new PgPoolBackend(engine, { poolId: "RU", criteria: { PoolID: "RU" }, maxPage: 100 });
    const order = [`(01)${RU_GTIN}(21)Ab3De6Gh9Jk2M(91)EE06(92)${tail("Ab+/")}`, `(01)${RU_GTIN}(21)Xy7Zw5Vu3Ts1Q(91)FF07(92)${tail("Zz9=")}`].join("\n");
    assert.equal((await ru.importText(order, ACTOR)).added, 2);
    const props = await ru.serialProperties(["Ab3De6Gh9Jk2M", "Xy7Zw5Vu3Ts1Q", "UNKNOWN"]);
    assert.equal(props.Ab3De6Gh9Jk2M["91"], "EE06");
    assert.equal(props.Xy7Zw5Vu3Ts1Q["92"], tail("Zz9="));
    assert.equal(props.UNKNOWN, undefined);
  });

  it("the audit chain of everything above verifies", async () => {
    const v = await engine.verifyAudit();
    assert.equal(v.ok, true, JSON.stringify(v));
  });
});
