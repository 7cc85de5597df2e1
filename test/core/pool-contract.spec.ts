/* The pool contract suite (issue 17): the same PSS behaviour asserted on both engines, the SQLite pool file and the
   PostgreSQL pool, through the rules both run (nodes/core/store/rules.ts): the eight pool functions with request
   paging and a repeated request's answer, every PSS event from every state under both guard policies, the guard's
   dry run, label collections, refusals that leave the store exactly as before, counts, an audit log that replays
   to the stored states, verifies, and names a tampered record. PostgreSQL is SERIALFLOW_TEST_PG or the embedded
   server (test/helpers/pg.ts); never skipped. */
import { strict as assert } from "assert";
import * as path from "path";
import Database from "better-sqlite3";
import { Client } from "pg";
import { openPoolStore, type SqlitePoolStore } from "../../nodes/core/store";
import { PgPoolEngine, quoteIdent } from "../../nodes/core/store/pg";
import { PssError } from "../../nodes/core/store/errors";
import { EVENTS, STATES, TRANSITIONS, transition, type PssEvent, type SerialNumberState } from "../../nodes/core/lifecycle";
import type { CollectionArgs, EventArgs, GuardCheck, PushTarget, RequestArgs, RequestResult, RequestTarget, ReturnTarget } from "../../nodes/core/store/rules";
import { testPg, type TestPg } from "../helpers/pg";
import { tmpDir } from "../helpers/tmp";

interface AuditLine {
  event: string;
  fromState?: string;
  toState?: string;
  anomaly: boolean;
  serialNumbers: string[];
  method?: string;
  snCollectionId?: string;
  labelCollectionId?: string;
  context: Record<string, string>;
}

/** What the suite drives: the contract, asynchronous on both engines. */
interface Engine {
  createPool(p: { poolId: string; guardPolicy?: "strict" | "record"; maxRequest?: number; isDefault?: boolean; selectionCriteria?: Record<string, string> }): Promise<void>;
  add(poolId: string, values: string[]): Promise<void>;
  request(target: RequestTarget, args: RequestArgs): Promise<RequestResult>;
  returnSerialNumbers(target: ReturnTarget, args: CollectionArgs): Promise<unknown>;
  pushTo(target: PushTarget, args: CollectionArgs): Promise<unknown>;
  applyEvent(event: PssEvent, args: EventArgs): Promise<{ applied: number; anomalies: number }>;
  checkEvent(event: PssEvent, values: string[]): Promise<GuardCheck>;
  number(value: string): Promise<{ state: string; poolId: string; snCollectionId: string | null; labelCollectionId: string | null; properties: Record<string, string> | null } | undefined>;
  states(): Promise<Map<string, string>>;
  counts(poolId: string): Promise<Record<string, number>>;
  audit(): Promise<AuditLine[]>;
  verify(): Promise<{ ok: boolean; message?: string }>;
  /** changes one audit record's numbers behind the store's back, as a database owner could */
  tamper(): Promise<void>;
  close(): Promise<void>;
}

const RULE = { pattern: "[A-Z0-9-]+", minLength: 1, maxLength: 40 };

function sqliteEngine(file: string): Engine {
  const s: SqlitePoolStore = openPoolStore(file);
  return {
    async createPool(p) {
      s.createPool({ sidClass: "custom", serialRule: RULE, ...p });
    },
    async add(poolId, values) {
      s.provision(poolId, values);
    },
    async request(t, a) {
      return s.request(t, a);
    },
    async returnSerialNumbers(t, a) {
      return s.returnSerialNumbers(t, a);
    },
    async pushTo(t, a) {
      return s.pushTo(t, a);
    },
    async applyEvent(e, a) {
      return s.applyEvent(e, a);
    },
    async checkEvent(e, v) {
      return s.checkEvent(e, v);
    },
    async number(v) {
      return s.getSerialNumber(v);
    },
    async states() {
      return new Map((s.db.prepare("SELECT value, state FROM serial_number").all() as Array<{ value: string; state: number }>).map((r) => [r.value, STATES[r.state]]));
    },
    async counts(poolId) {
      return s.countByState(poolId);
    },
    async audit() {
      return [...s.auditRecords()];
    },
    async verify() {
      const r = s.verifyAudit();
      return r.ok ? { ok: true } : { ok: false, message: r.message };
    },
    async tamper() {
      const db = new Database(file);
      // as a file's owner could: the append-only trigger dropped first
      db.exec("DROP TRIGGER audit_no_update");
      db.prepare("UPDATE audit SET serial_numbers = serial_numbers || char(10) || 'FORGED-1' WHERE seq = (SELECT max(seq) FROM audit WHERE serial_numbers <> '')").run();
      db.close();
    },
    async close() {
      s.close();
    },
  };
}

async function pgEngine(url: string, schema: string): Promise<Engine> {
  const e = await PgPoolEngine.open({ connectionString: url, schema });
  const s = quoteIdent(schema);
  const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> => {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as T[];
    } finally {
      await c.end();
    }
  };
  return {
    async createPool(p) {
      await e.createPool({ sidClass: "custom", serialRule: RULE, ...p });
    },
    async add(poolId, values) {
      await e.addNumbers(poolId, values);
    },
    request: (t, a) => e.request(t, a),
    returnSerialNumbers: (t, a) => e.returnSerialNumbers(t, a),
    pushTo: (t, a) => e.pushTo(t, a),
    applyEvent: (ev, a) => e.applyEvent(ev, a),
    checkEvent: (ev, v) => e.checkEvent(ev, v),
    number: (v) => e.getSerialNumber(v),
    async states() {
      return new Map((await sql<{ value: string; state: number }>(`SELECT value, state FROM ${s}.serial_number`)).map((r) => [r.value, STATES[r.state]]));
    },
    counts: (poolId) => e.counts(poolId),
    async audit() {
      await e.chainAudit({ wait: true });
      const rows = await sql<{ event: string; from_state: string | null; to_state: string | null; anomaly: number; serial_numbers: string; method: string | null; sn_collection_id: string | null; label_collection_id: string | null; context: string }>(
        `SELECT a.* FROM ${s}.audit a JOIN ${s}.audit_link l ON l.audit = a.id ORDER BY l.seq`,
      );
      return rows.map((r) => ({
        event: r.event, fromState: r.from_state ?? undefined, toState: r.to_state ?? undefined, anomaly: r.anomaly === 1,
        serialNumbers: r.serial_numbers === "" ? [] : r.serial_numbers.split("\n"), method: r.method ?? undefined, snCollectionId: r.sn_collection_id ?? undefined,
        labelCollectionId: r.label_collection_id ?? undefined, context: Object.fromEntries(JSON.parse(r.context) as Array<[string, string]>),
      }));
    },
    async verify() {
      const r = await e.verifyAudit();
      return r.ok ? { ok: true } : { ok: false, message: r.message };
    },
    async tamper() {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        await c.query("SET session_replication_role = replica");
        await c.query(`UPDATE ${s}.audit SET serial_numbers = serial_numbers || E'\\nFORGED-1' WHERE id = (SELECT max(id) FROM ${s}.audit WHERE serial_numbers <> '')`);
      } finally {
        await c.end();
      }
    },
    close: () => e.close(),
  };
}

async function refused(p: Promise<unknown>, code: string, msg?: RegExp): Promise<PssError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof PssError, `expected a PssError ${code}, got ${(err as Error).stack}`);
    assert.equal(err.code, code, err.message);
    if (msg) assert.match(err.message, msg);
    return err;
  }
  assert.fail(`expected a refusal ${code}`);
}

/** Everything the store holds that a refusal must leave as it was: states, collections, labels, audit. */
async function snapshot(e: Engine): Promise<string> {
  const states = [...(await e.states()).entries()].sort();
  const detail = await Promise.all(states.map(async ([v]) => e.number(v)));
  return JSON.stringify({ detail, audit: (await e.audit()).length });
}

/** The audit replayed: each number's last recorded state. */
function replay(lines: AuditLine[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) if (l.toState) for (const v of l.serialNumbers) out.set(v, l.toState);
  return out;
}

const ENGINES: Array<{ name: string; open: (tag: string) => Promise<Engine> }> = [];
let pg: TestPg | undefined;
let tmp: ReturnType<typeof tmpDir> | undefined;
let n = 0;
ENGINES.push({ name: "SQLite pool file", open: async (tag) => sqliteEngine(path.join((tmp ??= tmpDir()).dir, `${tag}-${++n}.db`)) });
ENGINES.push({
  name: "PostgreSQL pool",
  open: async (tag) => {
    pg ??= await testPg();
    return pgEngine(pg.url, `${pg.schema}_${tag}_${++n}`.toLowerCase());
  },
});

for (const kind of ENGINES) {
  describe(`pool contract on the ${kind.name}`, function () {
    this.timeout(120_000);
    const open: Engine[] = [];
    const fresh = async (tag: string) => {
      const e = await kind.open(tag);
      open.push(e);
      return e;
    };
    after(async function () {
      for (const e of open) await e.close().catch(() => undefined);
      if (kind.name.startsWith("PostgreSQL") && pg) {
        const c = new Client({ connectionString: pg.url });
        await c.connect();
        const rows = (await c.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", [`${pg.schema}_%`])).rows as Array<{ nspname: string }>;
        for (const r of rows) await c.query(`DROP SCHEMA ${quoteIdent(r.nspname)} CASCADE`);
        await c.end();
        await pg.dispose();
        pg = undefined;
      }
      if (!kind.name.startsWith("PostgreSQL") && tmp) {
        tmp.cleanup();
        tmp = undefined;
      }
    });

    const sns = (prefix: string, k: number) => Array.from({ length: k }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`);

    it("requests page by maxRequest with a token, a repeated snCollectionId answers the same numbers, and counts add up", async () => {
      const e = await fresh("req");
      await e.createPool({ poolId: "P", maxRequest: 4, isDefault: true });
      await e.add("P", sns("A", 10));
      const first = await e.request("Allocated", { count: 6, snCollectionId: "C1" });
      assert.equal(first.returnStatus, "NoError");
      assert.equal(first.snCollection.serialNumbers.length, 4);
      assert.equal(first.snCollection.state, "Allocated");
      assert.ok(first.returnedRequestToken, "a second page is announced by a token");
      const again = await e.request("Allocated", { count: 6, snCollectionId: "C1" });
      assert.deepEqual(again.snCollection.serialNumbers, first.snCollection.serialNumbers, "a repeat returns the same numbers");
      await refused(e.request("Allocated", { count: 5, snCollectionId: "C1" }), "InvalidSerialNumberCollection", /requested already with count 6/);
      const second = await e.request("Allocated", { count: 0, requestToken: first.returnedRequestToken });
      assert.equal(second.snCollection.id, "C1");
      assert.equal(second.snCollection.serialNumbers.length, 2);
      assert.equal(second.returnedRequestToken, "");
      await refused(e.request("Allocated", { count: 0, requestToken: first.returnedRequestToken }), "InvalidRequestToken", /unknown/);
      const all = new Set([...first.snCollection.serialNumbers, ...second.snCollection.serialNumbers]);
      assert.equal(all.size, 6, "no number handed out twice");
      const rest = await e.request("Unallocated", { count: 4 });
      assert.equal(rest.returnStatus, "NoError");
      const none = await e.request("Unassigned", { count: 1 });
      assert.equal(none.returnStatus, "InsufficientSerialNumbers");
      assert.deepEqual(none.snCollection.serialNumbers, []);
      const c = await e.counts("P");
      assert.equal(c.Allocated, 6);
      assert.equal(c.Unallocated, 4);
      assert.equal(c.Unassigned, 0);
      const audit = await e.audit();
      assert.deepEqual(replay(audit), await e.states(), "the audit replays to the stored states");
      const alloc = audit.filter((l) => l.event === "sn_allocating");
      assert.equal(alloc.reduce((k, l) => k + l.serialNumbers.length, 0), 6);
      assert.ok(alloc.every((l) => l.snCollectionId === "C1" && l.method === "SNRequestAllocated"));
      assert.ok((await e.verify()).ok);
    });

    it("returns take numbers back only from the collection that had them (always strict); pushes walk the forward path, adding unknown numbers", async () => {
      const e = await fresh("ret");
      await e.createPool({ poolId: "P", guardPolicy: "record", isDefault: true });
      await e.add("P", sns("B", 6));
      const got = (await e.request("Allocated", { count: 4, snCollectionId: "C1" })).snCollection.serialNumbers;
      const before = await snapshot(e);
      await refused(e.returnSerialNumbers("Allocated", { snCollection: { id: "C2", serialNumbers: got.slice(0, 1) } }), "InvalidSerialNumberCollection", /C2 is unknown/);
      await refused(e.returnSerialNumbers("Allocated", { snCollection: { id: "C1", serialNumbers: ["B-0005"] } }), "InvalidSerialNumberCollection", /not handed out in SNCollection C1/);
      await refused(e.returnSerialNumbers("Allocated", { snCollection: { id: "C1", serialNumbers: ["NOPE-1"] } }), "UnknownSerialNumber");
      assert.equal(await snapshot(e), before, "refusals leave the store as it was");
      await e.returnSerialNumbers("Allocated", { snCollection: { id: "C1", serialNumbers: got.slice(0, 2) } });
      assert.equal((await e.number(got[0]))?.state, "Unallocated");
      assert.equal((await e.number(got[0]))?.snCollectionId, null, "a returned number is free again");
      await e.pushTo("Encoded", { snCollection: { id: "C9", serialNumbers: ["NEW-1", got[2]] } });
      for (const v of ["NEW-1", got[2]]) {
        const i = await e.number(v);
        assert.equal(i?.state, "Encoded");
        assert.equal(i?.snCollectionId, "C9");
      }
      const steps = (await e.audit()).filter((l) => l.serialNumbers.includes("NEW-1")).map((l) => `${l.event}:${l.fromState ?? ""}>${l.toState}`);
      assert.deepEqual(steps, ["sn_adding:>Unassigned", "provisioning:Unassigned>Unallocated", "sn_allocating:Unallocated>Allocated", "sn_encoding:Allocated>Encoded"]);
      await e.applyEvent("commissioning", { serialNumbers: [got[2]] });
      // under record a push against the path is stored as reported and flagged; a terminal state is refused
      await e.pushTo("Encoded", { snCollection: { id: "C9", serialNumbers: [got[2]] } });
      const flagged = (await e.audit()).at(-1)!;
      assert.equal(flagged.anomaly, true);
      assert.equal(flagged.fromState, "Commissioned");
      await e.applyEvent("destroying", { serialNumbers: [got[2]] });
      await refused(e.pushTo("Encoded", { snCollection: { id: "C9", serialNumbers: [got[2]] } }), "TransitionForbidden", /Destroyed is terminal/);
      assert.deepEqual(replay(await e.audit()), await e.states());
      assert.ok((await e.verify()).ok);
    });

    it("every PSS event from every state follows the transition table under strict; the guard's dry run agrees", async () => {
      const e = await fresh("table");
      await e.createPool({ poolId: "P", isDefault: true });
      // a number in each state, reached through events (pushes and events only, as a line would)
      const paths: Record<SerialNumberState, PssEvent[]> = {
        Unassigned: [], Unallocated: ["provisioning"], Allocated: ["provisioning", "sn_allocating"], Encoded: ["provisioning", "sn_allocating", "sn_encoding"],
        SNInvalid: ["provisioning", "sn_allocating", "sn_invalidating"], Commissioned: ["provisioning", "sn_allocating", "sn_encoding", "commissioning"],
        Sampled: ["provisioning", "sn_allocating", "sn_encoding", "commissioning", "inspecting"], Released: ["provisioning", "sn_allocating", "sn_encoding", "commissioning", "shipping"],
        Inactive: ["provisioning", "sn_allocating", "sn_encoding", "commissioning", "decommissioning"], Destroyed: ["provisioning", "sn_allocating", "sn_encoding", "commissioning", "destroying"],
        LabelScrapped: ["provisioning", "sn_allocating", "sn_encoding", "label_scrapping"], LabelSampled: ["provisioning", "sn_allocating", "sn_encoding", "label_sampling"],
      };
      // the paths themselves follow the table (a path that does not reach its state is a fault of this test)
      for (const st of STATES) {
        let s: SerialNumberState = "Unassigned";
        for (const ev of paths[st]) {
          const t = transition(s, ev);
          assert.ok(t.allowed, `path to ${st}: ${ev} from ${s}`);
          s = t.to;
        }
        assert.equal(s, st, `path to ${st}`);
      }
      const reachable = STATES;
      let cells = 0;
      for (const event of EVENTS) {
        const vals = reachable.map((st) => `T-${event.replace(/_/g, "")}-${st}`.toUpperCase());
        await e.add("P", vals);
        for (let i = 0; i < reachable.length; i++) for (const ev of paths[reachable[i]]) await e.applyEvent(ev, { serialNumbers: [vals[i]] });
        const dry = await e.checkEvent(event, vals);
        for (let i = 0; i < reachable.length; i++) {
          const from = reachable[i];
          const t = transition(from, event);
          const v = vals[i];
          assert.equal(dry.allowed.some((a) => a.serialNumber === v), t.allowed, `dry run of ${event} from ${from}`);
          if (event === "packing" || event === "unpacking") continue; // the aggregation functions, not applyEvent's
          if (t.allowed) {
            await e.applyEvent(event, { serialNumbers: [v] });
            assert.equal((await e.number(v))?.state, t.to, `${event} from ${from}`);
          } else {
            const before = await e.number(v);
            await refused(e.applyEvent(event, { serialNumbers: [v] }), "TransitionForbidden", new RegExp(`may not take ${event}`));
            assert.deepEqual(await e.number(v), before);
          }
          cells++;
        }
      }
      assert.ok(cells >= 100, `${cells} cells`);
      assert.equal(Object.keys(TRANSITIONS).length, EVENTS.length);
      assert.deepEqual(replay(await e.audit()), await e.states());
      assert.ok((await e.verify()).ok);
    });

    it("a batch is all or nothing under strict; under record it is stored as reported and flagged; terminal states stay", async () => {
      const e = await fresh("policy");
      await e.createPool({ poolId: "S", isDefault: true, selectionCriteria: { line: "1" } });
      await e.createPool({ poolId: "R", guardPolicy: "record", selectionCriteria: { line: "2" } });
      await e.add("S", sns("S", 3));
      await e.add("R", sns("R", 3));
      await e.pushTo("Encoded", { snCollection: { id: "CS", serialNumbers: ["S-0000", "S-0001"] }, poolSelectionCriteria: { line: "1" } });
      const before = await snapshot(e);
      const err = await refused(e.applyEvent("commissioning", { serialNumbers: ["S-0000", "S-0002"] }), "TransitionForbidden", /S-0002 \(Unassigned\)/);
      assert.deepEqual(err.details?.map((d) => d.serialNumber), ["S-0002"]);
      assert.equal(await snapshot(e), before, "nothing of the batch was applied");
      await refused(e.applyEvent("commissioning", { serialNumbers: ["S-0000", "NOPE-9"] }), "UnknownSerialNumber", /NOPE-9/);
      await refused(e.applyEvent("commissioning", { serialNumbers: ["S-0000"], poolId: "R" }), "UnknownSerialNumber", /not in pool R/);
      assert.equal(await snapshot(e), before);
      const r = await e.applyEvent("commissioning", { serialNumbers: ["R-0000", "R-0001"], context: { line: "2" } });
      assert.deepEqual(r, { returnStatus: "NoError", applied: 2, anomalies: 2 });
      assert.equal((await e.number("R-0000"))?.state, "Commissioned");
      const flagged = (await e.audit()).at(-1)!;
      assert.equal(flagged.anomaly, true);
      assert.equal(flagged.fromState, "Unassigned");
      assert.equal(flagged.method, "SIDCommissioningEvent");
      assert.deepEqual(flagged.context, { line: "2" });
      await e.applyEvent("destroying", { serialNumbers: ["R-0000"] });
      const again = await e.applyEvent("commissioning", { serialNumbers: ["R-0000"] });
      assert.equal(again.anomalies, 1);
      assert.equal((await e.number("R-0000"))?.state, "Destroyed", "a terminal state stays terminal under record");
      assert.deepEqual(replay(await e.audit()), await e.states());
      assert.ok((await e.verify()).ok);
    });

    it("an event's label collection and per-number properties are stored with it", async () => {
      const e = await fresh("label");
      await e.createPool({ poolId: "P", isDefault: true });
      await e.pushTo("Encoded", { snCollection: { id: "C", serialNumbers: sns("L", 3) } });
      await e.applyEvent("commissioning", {
        serialNumbers: [],
        labelCollection: { id: "LOT-7", description: "lot 7", properties: { lot: "L7", expiry: "271231" }, labels: [{ id: "L-0000", properties: { "91": "AB12" } }, { id: "L-0001" }] },
      });
      const i = await e.number("L-0000");
      assert.equal(i?.state, "Commissioned");
      assert.equal(i?.labelCollectionId, "LOT-7");
      assert.deepEqual(i?.properties, { "91": "AB12" });
      assert.equal((await e.number("L-0002"))?.state, "Encoded", "a number not named by the event is left alone");
      const last = (await e.audit()).at(-1)!;
      assert.equal(last.labelCollectionId, "LOT-7");
      assert.deepEqual(last.serialNumbers, ["L-0000", "L-0001"]);
      await refused(e.applyEvent("commissioning", { serialNumbers: ["L-0002"], labelCollection: { labels: [{ id: "X-1" }] } }), "InvalidSerialNumberCollection", /not among the serial numbers/);
    });

    it("audit verify passes on a sound log and names a record changed behind the store's back", async () => {
      const e = await fresh("tamper");
      await e.createPool({ poolId: "P", isDefault: true });
      await e.add("P", sns("V", 5));
      await e.request("Allocated", { count: 5 });
      assert.ok((await e.verify()).ok);
      await e.tamper();
      const v = await e.verify();
      assert.equal(v.ok, false);
      assert.match(v.message ?? "", /changed|hash/i);
    });
  });
}
