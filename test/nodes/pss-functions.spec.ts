/* Each of the 20 PSS function node types, in Node-RED (test helper) over a real pool file: its happy path with the
   states stored and the audit records it wrote, and one refusal that reaches a Catch node with its code and leaves
   the file as it was. Test names start with the node type, so `mocha -g pss-sn-return-allocated` lists its tests. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { helper, allNodeModules, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";
import { until } from "../helpers/until";
import { openPoolStore, type AuditRecord, type SqlitePoolStore } from "../../nodes/core/store";
import { aggregationFor } from "../../nodes/core/aggregation";
import { PSS_FUNCTIONS } from "../../nodes/common/functions";

type Msg = Record<string, any>;

const POOL = "PF";
const OTHER = "PF-OTHER";

const sns = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);

/** What a test can ask of the pool file before the flow starts. */
interface Seed {
  store: SqlitePoolStore;
  /** n free Unassigned numbers */
  free(prefix: string, n: number): string[];
  /** n numbers requested into an SN collection in `state` (Unallocated or Allocated) */
  requested(state: "Unallocated" | "Allocated", collection: string, n: number): string[];
  /** new numbers pushed to Encoded */
  encoded(prefix: string, n: number): string[];
  /** new numbers walked to Commissioned */
  commissioned(prefix: string, n: number): string[];
}

function seed(store: SqlitePoolStore): Seed {
  const crit = { PoolID: POOL };
  return {
    store,
    free(prefix, n) {
      const v = sns(prefix, n);
      store.provision(POOL, v);
      return v;
    },
    requested(state, collection, n) {
      return store.request(state, { count: n, snCollectionId: collection, poolSelectionCriteria: crit }).snCollection.serialNumbers;
    },
    encoded(prefix, n) {
      const v = sns(prefix, n);
      store.pushTo("Encoded", { snCollection: { id: "", serialNumbers: v }, poolSelectionCriteria: crit });
      return v;
    },
    commissioned(prefix, n) {
      const v = this.encoded(prefix, n);
      store.applyEvent("commissioning", { serialNumbers: v, labelCollection: { properties: { lot: "L0", expiry: "281231" } } });
      return v;
    },
  };
}

function flow(dbFile: string, type: string, extra: Record<string, unknown> = {}) {
  return [
    { id: "t", type: "tab", label: type },
    { id: "pool", type: "pss-pool", mode: "local", dbFile, poolId: POOL, sidClass: "GS1-SGTIN", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 10000 },
    { id: "fn", z: "t", type, name: "", pool: "pool", snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [["out"]], ...extra },
    { id: "out", z: "t", type: "helper" },
    { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "t", type: "helper" },
  ];
}

const ACTOR = "node-red:fn";

/** The properties of the label collection a number was last reported in (lot, expiry, ...). */
function labelProps(store: SqlitePoolStore, sn: string): Record<string, string> {
  const id = store.getSerialNumber(sn)?.labelCollectionId;
  assert.ok(id, `${sn} has a label collection`);
  const raw = store.db.prepare("SELECT properties FROM label_collection WHERE id = ?").pluck().get(id) as string;
  const parsed = JSON.parse(raw) as Record<string, string> | Array<[string, string]>;
  return Array.isArray(parsed) ? Object.fromEntries(parsed) : parsed;
}

/** The audit records written after `afterSeq`, in order. */
function auditAfter(store: SqlitePoolStore, afterSeq: number): AuditRecord[] {
  return [...store.auditRecords({ fromSeq: afterSeq + 1 })];
}

function lastSeq(store: SqlitePoolStore): number {
  let seq = 0;
  for (const r of store.auditRecords({})) seq = r.seq;
  return seq;
}

/** Compare audit records on the fields a reader of the log relies on. */
function brief(r: AuditRecord): Record<string, unknown> {
  return {
    event: r.event, method: r.method, fromState: r.fromState, toState: r.toState, serialNumbers: [...r.serialNumbers].sort(), poolId: r.poolId, actor: r.actor,
  };
}

function expect(event: string, method: string, fromState: string | undefined, toState: string | undefined, serialNumbers: string[]) {
  return { event, method, fromState, toState, serialNumbers: [...serialNumbers].sort(), poolId: POOL, actor: ACTOR };
}

interface Ctx {
  store: SqlitePoolStore;
  out: Msg;
  audit: AuditRecord[];
  state(sn: string): string | undefined;
}

interface Case {
  type: string;
  /** what the happy path does, for the test name */
  happy: string;
  seedHappy(s: Seed): unknown;
  payload(data: any): unknown;
  /** node properties besides the defaults */
  node?: Record<string, unknown>;
  check(c: Ctx, data: any): void;
  refusal: { what: string; code: string; match?: RegExp; seed(s: Seed): unknown; payload(data: any): unknown };
}

const CASES: Case[] = [
  {
    type: "pss-sn-request-unassigned",
    happy: "binds 5 free numbers to a new SN collection, still Unassigned (sn_binding)",
    seedHappy: (s) => s.free("UA", 8),
    payload: () => ({ count: 5, snCollectionId: "C-UA" }),
    check: (c) => {
      const got: string[] = c.out.payload.snCollection.serialNumbers;
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.equal(c.out.payload.snCollection.id, "C-UA");
      assert.equal(c.out.payload.snCollection.state, "Unassigned");
      assert.equal(got.length, 5);
      for (const sn of got) {
        assert.equal(c.state(sn), "Unassigned");
        assert.equal(c.store.getSerialNumber(sn)?.snCollectionId, "C-UA", `${sn} is bound to C-UA: never handed out again`);
      }
      assert.deepEqual(c.audit.map(brief), [expect("sn_binding", "SNRequestUnassigned", "Unassigned", "Unassigned", got)]);
      assert.equal(c.audit[0].snCollectionId, "C-UA");
    },
    refusal: { what: "an empty pool", code: "InsufficientSerialNumbers", match: /pool PF.*\b5\b/, seed: () => undefined, payload: () => ({ count: 5 }) },
  },
  {
    type: "pss-sn-request-unallocated",
    happy: "moves 4 numbers Unassigned → Unallocated in a new SN collection (provisioning)",
    seedHappy: (s) => s.free("UN", 6),
    payload: () => ({ count: 4, snCollectionId: "C-UN" }),
    check: (c) => {
      const got: string[] = c.out.payload.snCollection.serialNumbers;
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.equal(c.out.payload.snCollection.state, "Unallocated");
      assert.equal(got.length, 4);
      for (const sn of got) assert.equal(c.state(sn), "Unallocated");
      assert.equal(c.store.countByState(POOL).Unassigned, 2);
      assert.deepEqual(c.audit.map(brief), [expect("provisioning", "SNRequestUnallocated", "Unassigned", "Unallocated", got)]);
    },
    refusal: {
      what: "an SN collection that holds Allocated numbers",
      code: "InvalidSerialNumberCollection",
      match: /C-AL.*Allocated/,
      seed: (s) => {
        s.free("UN", 6);
        s.requested("Allocated", "C-AL", 2);
      },
      payload: () => ({ count: 2, snCollectionId: "C-AL" }),
    },
  },
  {
    type: "pss-sn-request-allocated",
    happy: "takes free Unallocated numbers first, then Unassigned ones, all → Allocated (provisioning + sn_allocating)",
    seedHappy: (s) => {
      const pushed = sns("UL", 3);
      s.store.pushTo("Unallocated", { snCollection: { id: "", serialNumbers: pushed }, poolSelectionCriteria: { PoolID: POOL } });
      s.free("AL", 5);
      return pushed;
    },
    payload: () => ({ count: 5 }),
    check: (c, pushed: string[]) => {
      const got: string[] = c.out.payload.snCollection.serialNumbers;
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.equal(c.out.payload.snCollection.state, "Allocated");
      assert.equal(got.length, 5);
      for (const sn of pushed) assert.ok(got.includes(sn), `the free Unallocated ${sn} is taken first`);
      for (const sn of got) assert.equal(c.state(sn), "Allocated");
      const fresh = got.filter((sn) => !pushed.includes(sn));
      assert.deepEqual(c.audit.map(brief), [
        expect("provisioning", "SNRequestAllocated", "Unassigned", "Unallocated", fresh),
        expect("sn_allocating", "SNRequestAllocated", "Unallocated", "Allocated", got),
      ]);
    },
    refusal: { what: "an empty pool", code: "InsufficientSerialNumbers", match: /pool PF.*\b7\b/, seed: () => undefined, payload: () => ({ count: 7 }) },
  },
  {
    type: "pss-sn-return-unallocated",
    happy: "gives the Unallocated numbers of their collection back: → Unassigned, free again (sn_returning)",
    seedHappy: (s) => {
      s.free("RU", 6);
      return s.requested("Unallocated", "C-RU", 4);
    },
    payload: (got: string[]) => ({ snCollection: { id: "C-RU", serialNumbers: got } }),
    check: (c, got: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      for (const sn of got) {
        assert.equal(c.state(sn), "Unassigned");
        assert.equal(c.store.getSerialNumber(sn)?.snCollectionId, null, `${sn} is free again`);
      }
      assert.equal(c.store.available(POOL), 6);
      assert.deepEqual(c.audit.map(brief), [expect("sn_returning", "SNReturnUnallocated", "Unallocated", "Unassigned", got)]);
      assert.equal(c.audit[0].snCollectionId, "C-RU");
    },
    refusal: {
      what: "Allocated numbers (they go back with SNReturnAllocated)",
      code: "TransitionForbidden",
      match: /SNReturnUnallocated.*Allocated/,
      seed: (s) => {
        s.free("RU", 6);
        return s.requested("Allocated", "C-AL", 2);
      },
      payload: (got: string[]) => ({ snCollection: { id: "C-AL", serialNumbers: got } }),
    },
  },
  {
    type: "pss-sn-return-allocated",
    happy: "gives the Allocated numbers of their collection back: → Unallocated, free again (sn_deallocating)",
    seedHappy: (s) => {
      s.free("RA", 6);
      return s.requested("Allocated", "C-RA", 4);
    },
    payload: (got: string[]) => ({ snCollection: { id: "C-RA", serialNumbers: got } }),
    check: (c, got: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      for (const sn of got) {
        assert.equal(c.state(sn), "Unallocated");
        assert.equal(c.store.getSerialNumber(sn)?.snCollectionId, null, `${sn} is free again`);
      }
      assert.equal(c.store.available(POOL), 6);
      assert.deepEqual(c.audit.map(brief), [expect("sn_deallocating", "SNReturnAllocated", "Allocated", "Unallocated", got)]);
      assert.equal(c.audit[0].snCollectionId, "C-RA");
    },
    refusal: {
      what: "numbers of another SN collection",
      code: "InvalidSerialNumberCollection",
      match: /not handed out in SNCollection C-RA/,
      seed: (s) => {
        s.free("RA", 6);
        s.requested("Allocated", "C-RA", 2);
        return s.requested("Allocated", "C-OTHER", 2);
      },
      payload: (other: string[]) => ({ snCollection: { id: "C-RA", serialNumbers: other } }),
    },
  },
  {
    type: "pss-sn-to-unallocated",
    happy: "adds unknown numbers and moves them to Unallocated, free (sn_adding + provisioning)",
    seedHappy: () => undefined,
    payload: () => ({ serialNumbers: ["PU0001", "PU0002"] }),
    check: (c) => {
      const v = ["PU0001", "PU0002"];
      assert.equal(c.out.payload.returnStatus, "NoError");
      for (const sn of v) {
        assert.equal(c.state(sn), "Unallocated");
        assert.equal(c.store.getSerialNumber(sn)?.snCollectionId, null);
      }
      assert.deepEqual(c.audit.map(brief), [
        expect("sn_adding", "SNtoUnallocated", undefined, "Unassigned", v),
        expect("provisioning", "SNtoUnallocated", "Unassigned", "Unallocated", v),
      ]);
    },
    refusal: {
      what: "a Commissioned number (no way back along the forward path)",
      code: "TransitionForbidden",
      match: /CM0000 \(Commissioned\)/,
      seed: (s) => s.commissioned("CM", 1),
      payload: (v: string[]) => ({ serialNumbers: v }),
    },
  },
  {
    type: "pss-sn-to-allocated",
    happy: "adds unknown numbers and moves them to Allocated in the named SN collection (sn_adding + provisioning + sn_allocating)",
    seedHappy: () => undefined,
    payload: () => ({ snCollection: { id: "C-PA", serialNumbers: ["PA0001", "PA0002"] } }),
    check: (c) => {
      const v = ["PA0001", "PA0002"];
      assert.equal(c.out.payload.returnStatus, "NoError");
      for (const sn of v) {
        assert.equal(c.state(sn), "Allocated");
        assert.equal(c.store.getSerialNumber(sn)?.snCollectionId, "C-PA");
      }
      assert.deepEqual(c.audit.map(brief), [
        expect("sn_adding", "SNtoAllocated", undefined, "Unassigned", v),
        expect("provisioning", "SNtoAllocated", "Unassigned", "Unallocated", v),
        expect("sn_allocating", "SNtoAllocated", "Unallocated", "Allocated", v),
      ]);
    },
    refusal: {
      what: "a number of another pool",
      code: "DuplicateSerialNumber",
      match: /OT0000/,
      seed: (s) => {
        s.store.createPool({ poolId: OTHER, sidClass: "GS1-SGTIN", selectionCriteria: { PoolID: OTHER } });
        s.store.provision(OTHER, ["OT0000"]);
      },
      payload: () => ({ serialNumbers: ["OT0000"] }),
    },
  },
  {
    type: "pss-sn-to-encoded",
    happy: "adds unknown numbers and walks them to Encoded, one audited step each (… + sn_encoding)",
    seedHappy: () => undefined,
    payload: () => ({ serialNumbers: ["PE0001"] }),
    check: (c) => {
      const v = ["PE0001"];
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.equal(c.state("PE0001"), "Encoded");
      assert.deepEqual(c.audit.map(brief), [
        expect("sn_adding", "SNtoEncoded", undefined, "Unassigned", v),
        expect("provisioning", "SNtoEncoded", "Unassigned", "Unallocated", v),
        expect("sn_allocating", "SNtoEncoded", "Unallocated", "Allocated", v),
        expect("sn_encoding", "SNtoEncoded", "Allocated", "Encoded", v),
      ]);
    },
    refusal: {
      what: "a Released number",
      code: "TransitionForbidden",
      match: /RL0000 \(Released\)/,
      seed: (s) => {
        const v = s.commissioned("RL", 1);
        s.store.applyEvent("shipping", { serialNumbers: v });
      },
      payload: () => ({ serialNumbers: ["RL0000"] }),
    },
  },
  {
    type: "pss-sn-invalidating",
    happy: "declares Allocated numbers invalid: → SNInvalid (sn_invalidating)",
    seedHappy: (s) => {
      s.free("IV", 4);
      return s.requested("Allocated", "C-IV", 3);
    },
    payload: (got: string[]) => ({ serialNumbers: got.slice(0, 2) }),
    check: (c, got: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.equal(c.out.payload.applied, 2);
      assert.deepEqual(got.map((sn) => c.state(sn)), ["SNInvalid", "SNInvalid", "Allocated"]);
      assert.deepEqual(c.audit.map(brief), [expect("sn_invalidating", "SNInvalidatingEvent", "Allocated", "SNInvalid", got.slice(0, 2))]);
    },
    refusal: {
      what: "an Encoded number (a printed label is scrapped, not invalidated)",
      code: "TransitionForbidden",
      match: /label_scrapping/,
      seed: (s) => s.encoded("EN", 1),
      payload: (v: string[]) => ({ serialNumbers: v }),
    },
  },
  {
    type: "pss-labels-encoding",
    happy: "reports labels printed: Allocated → Encoded, the label collection and its lot stored (sn_encoding)",
    seedHappy: (s) => {
      s.free("LE", 4);
      return s.requested("Allocated", "C-LE", 3);
    },
    payload: (got: string[]) => ({ labelCollection: { id: "LC-1", serialNumbers: got, labelCollectionProperties: { lot: "L7", expiry: "281231" } } }),
    check: (c, got: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.deepEqual(c.out.payload.serialNumbers, got);
      for (const sn of got) {
        const info = c.store.getSerialNumber(sn);
        assert.equal(info?.state, "Encoded");
        assert.equal(info?.labelCollectionId, "LC-1");
        assert.equal(labelProps(c.store, sn).lot, "L7");
      }
      assert.deepEqual(c.audit.map(brief), [expect("sn_encoding", "LabelsEncodingEvent", "Allocated", "Encoded", got)]);
      assert.equal(c.audit[0].labelCollectionId, "LC-1");
    },
    refusal: {
      what: "Unassigned numbers (never requested)",
      code: "TransitionForbidden",
      match: /LE0000 \(Unassigned\)|LE0000.*Unassigned/,
      seed: (s) => s.free("LE", 1),
      payload: (v: string[]) => ({ serialNumbers: v }),
    },
  },
  {
    type: "pss-labels-scrapping",
    happy: "reports encoded labels destroyed: Encoded → LabelScrapped (label_scrapping)",
    seedHappy: (s) => s.encoded("SC", 3),
    payload: (v: string[]) => ({ serialNumbers: v.slice(0, 2) }),
    check: (c, v: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.deepEqual(v.map((sn) => c.state(sn)), ["LabelScrapped", "LabelScrapped", "Encoded"]);
      assert.deepEqual(c.audit.map(brief), [expect("label_scrapping", "LabelsScrappingEvent", "Encoded", "LabelScrapped", v.slice(0, 2))]);
    },
    refusal: {
      what: "a Commissioned number",
      code: "TransitionForbidden",
      match: /CM0000/,
      seed: (s) => s.commissioned("CM", 1),
      payload: (v: string[]) => ({ serialNumbers: v }),
    },
  },
  {
    type: "pss-labels-inspecting",
    happy: "reports an inspection of encoded labels: the state stays Encoded, the inspection is audited (label_inspecting)",
    seedHappy: (s) => s.encoded("LI", 2),
    payload: (v: string[]) => ({ serialNumbers: v }),
    check: (c, v: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.deepEqual(v.map((sn) => c.state(sn)), ["Encoded", "Encoded"]);
      assert.deepEqual(c.audit.map(brief), [expect("label_inspecting", "LabelsInspectingEvent", "Encoded", "Encoded", v)]);
    },
    refusal: {
      what: "an Allocated number (no label yet)",
      code: "TransitionForbidden",
      match: /Allocated/,
      seed: (s) => {
        s.free("LI", 2);
        return s.requested("Allocated", "C-LI", 1);
      },
      payload: (v: string[]) => ({ serialNumbers: v }),
    },
  },
  {
    type: "pss-labels-sampling",
    happy: "reports encoded labels kept as samples: Encoded → LabelSampled (label_sampling)",
    seedHappy: (s) => s.encoded("LS", 2),
    payload: (v: string[]) => ({ serialNumbers: [v[0]] }),
    check: (c, v: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.deepEqual(v.map((sn) => c.state(sn)), ["LabelSampled", "Encoded"]);
      assert.deepEqual(c.audit.map(brief), [expect("label_sampling", "LabelsSamplingEvent", "Encoded", "LabelSampled", [v[0]])]);
    },
    refusal: { what: "a number the pool does not know", code: "UnknownSerialNumber", match: /NOPE0001/, seed: () => undefined, payload: () => ({ serialNumbers: ["NOPE0001"] }) },
  },
  {
    type: "pss-sid-commissioning",
    happy: "reports items commissioned: Encoded → Commissioned, with the node's lot and expiry stored (commissioning)",
    seedHappy: (s) => s.encoded("CO", 3),
    node: { context: JSON.stringify({ lot: "L9", expiry: "291231" }) },
    payload: (v: string[]) => ({ serialNumbers: v, labelCollectionProperties: { lot: "L9", expiry: "291231" } }),
    check: (c, v: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      for (const sn of v) {
        const info = c.store.getSerialNumber(sn);
        assert.equal(info?.state, "Commissioned");
        assert.deepEqual(labelProps(c.store, sn), { lot: "L9", expiry: "291231" });
      }
      assert.deepEqual(c.audit.map(brief), [expect("commissioning", "SIDCommissioningEvent", "Encoded", "Commissioned", v)]);
      assert.equal(c.audit[0].context.lot, "L9", "the node's event context is in the audit record");
      assert.equal(c.out.payload.pssEvent.event, "commissioning");
    },
    refusal: {
      what: "a number already Commissioned",
      code: "TransitionForbidden",
      match: /already commissioned/,
      seed: (s) => s.commissioned("CM", 1),
      payload: (v: string[]) => ({ serialNumbers: v }),
    },
  },
  {
    type: "pss-sid-destroying",
    happy: "reports items destroyed: Commissioned → Destroyed (destroying)",
    seedHappy: (s) => s.commissioned("DE", 2),
    payload: (v: string[]) => ({ serialNumbers: [v[1]] }),
    check: (c, v: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.deepEqual(v.map((sn) => c.state(sn)), ["Commissioned", "Destroyed"]);
      assert.deepEqual(c.audit.map(brief), [expect("destroying", "SIDDestroyingEvent", "Commissioned", "Destroyed", [v[1]])]);
    },
    refusal: {
      what: "an Encoded number (a label is scrapped, an item is destroyed)",
      code: "TransitionForbidden",
      match: /EN0000/,
      seed: (s) => s.encoded("EN", 1),
      payload: (v: string[]) => ({ serialNumbers: v }),
    },
  },
  {
    type: "pss-sid-shipping",
    happy: "reports items shipped: Commissioned → Released (shipping)",
    seedHappy: (s) => s.commissioned("SH", 3),
    payload: (v: string[]) => ({ serialNumbers: v }),
    check: (c, v: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      for (const sn of v) assert.equal(c.state(sn), "Released");
      assert.deepEqual(c.audit.map(brief), [expect("shipping", "SIDShippingEvent", "Commissioned", "Released", v)]);
    },
    refusal: {
      what: "a number already Released",
      code: "TransitionForbidden",
      match: /already shipped/,
      seed: (s) => {
        const v = s.commissioned("SH", 1);
        s.store.applyEvent("shipping", { serialNumbers: v });
        return v;
      },
      payload: (v: string[]) => ({ serialNumbers: v }),
    },
  },
  {
    type: "pss-sid-inspecting",
    happy: "reports items pulled as samples: Commissioned → Sampled (inspecting)",
    seedHappy: (s) => s.commissioned("SI", 2),
    payload: (v: string[]) => ({ serialNumbers: [v[0]] }),
    check: (c, v: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.deepEqual(v.map((sn) => c.state(sn)), ["Sampled", "Commissioned"]);
      assert.deepEqual(c.audit.map(brief), [expect("inspecting", "SIDInspectingEvent", "Commissioned", "Sampled", [v[0]])]);
    },
    refusal: {
      what: "a Released number (out of production's responsibility)",
      code: "TransitionForbidden",
      match: /released pack/,
      seed: (s) => {
        const v = s.commissioned("SI", 1);
        s.store.applyEvent("shipping", { serialNumbers: v });
        return v;
      },
      payload: (v: string[]) => ({ serialNumbers: v }),
    },
  },
  {
    type: "pss-sid-decommissioning",
    happy: "reports items decommissioned: Commissioned → Inactive (decommissioning)",
    seedHappy: (s) => s.commissioned("DC", 2),
    payload: (v: string[]) => ({ serialNumbers: v }),
    check: (c, v: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      for (const sn of v) assert.equal(c.state(sn), "Inactive");
      assert.deepEqual(c.audit.map(brief), [expect("decommissioning", "SIDDecommissioningEvent", "Commissioned", "Inactive", v)]);
    },
    refusal: {
      what: "a Destroyed number (terminal)",
      code: "TransitionForbidden",
      match: /Destroyed is terminal/,
      seed: (s) => {
        const v = s.commissioned("DC", 1);
        s.store.applyEvent("destroying", { serialNumbers: v });
        return v;
      },
      payload: (v: string[]) => ({ serialNumbers: v }),
    },
  },
  {
    type: "pss-aggregation-packing",
    happy: "packs three commissioned items into a commissioned case: the hierarchy stored, states unchanged (packing)",
    seedHappy: (s) => s.commissioned("PK", 4),
    payload: (v: string[]) => ({ parent: v[3], children: v.slice(0, 3) }),
    check: (c, v: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      assert.deepEqual(c.out.payload.aggregationElement, [{ parent: v[3], children: v.slice(0, 3) }]);
      const agg = aggregationFor(c.store);
      assert.deepEqual([...agg.childrenOf(v[3])].sort(), v.slice(0, 3));
      for (const sn of v.slice(0, 3)) assert.equal(agg.parentOf(sn), v[3]);
      for (const sn of v) assert.equal(c.state(sn), "Commissioned");
      assert.deepEqual(c.audit.map(brief), [expect("packing", "AggregationPackingEvent", "Commissioned", "Commissioned", v.slice(0, 3))]);
      assert.equal(c.audit[0].context.parent, v[3]);
    },
    refusal: {
      what: "an Encoded child (only commissioned items are packed)",
      code: "NotCommissioned",
      match: /EN0000/,
      seed: (s) => ({ parent: s.commissioned("PK", 1)[0], child: s.encoded("EN", 1)[0] }),
      payload: (d: { parent: string; child: string }) => ({ parent: d.parent, children: [d.child] }),
    },
  },
  {
    type: "pss-aggregation-unpacking",
    happy: "takes one item out of its case: the link removed, states unchanged (unpacking)",
    seedHappy: (s) => {
      const v = s.commissioned("UP", 4);
      aggregationFor(s.store).pack([{ parent: v[3], children: v.slice(0, 3) }], { actor: "seed" });
      return v;
    },
    payload: (v: string[]) => ({ parent: v[3], children: [v[0]] }),
    check: (c, v: string[]) => {
      assert.equal(c.out.payload.returnStatus, "NoError");
      const agg = aggregationFor(c.store);
      assert.equal(agg.parentOf(v[0]), undefined, `${v[0]} left its case`);
      assert.deepEqual([...agg.childrenOf(v[3])].sort(), v.slice(1, 3));
      for (const sn of v) assert.equal(c.state(sn), "Commissioned");
      assert.deepEqual(c.audit.map(brief), [expect("unpacking", "AggregationUnpackingEvent", "Commissioned", "Commissioned", [v[0]])]);
      assert.equal(c.audit[0].context.parent, v[3]);
    },
    refusal: {
      what: "a child that is not in that parent",
      code: "NotInParent",
      match: /UP0003|OUT0000/,
      seed: (s) => {
        const v = s.commissioned("UP", 4);
        aggregationFor(s.store).pack([{ parent: v[3], children: v.slice(0, 2) }], { actor: "seed" });
        return { parent: v[3], stranger: s.commissioned("OUT", 1)[0] };
      },
      payload: (d: { parent: string; stranger: string }) => ({ parent: d.parent, children: [d.stranger] }),
    },
  },
];

describe("the 20 PSS function nodes, each through a real pool file", function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;

  beforeEach(async function () {
    tmp = tmpDir("serialflow-fn-");
    dbFile = path.join(tmp.dir, "pool.db");
    await helper.startServer();
  });

  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  /** Create the pool file, let `fill` put numbers in it, then start the flow of one node of `type`. */
  async function start<T>(type: string, fill: (s: Seed) => T, node: Record<string, unknown> = {}): Promise<T> {
    const store = openPoolStore(dbFile, { actor: "seed" });
    let data: T;
    try {
      store.createPool({ poolId: POOL, sidClass: "GS1-SGTIN", selectionCriteria: { PoolID: POOL } });
      aggregationFor(store);
      data = fill(seed(store));
    } finally {
      store.close();
    }
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(dbFile, type, node) as any);
    return data;
  }

  it("the table has exactly these 20 node types, each tested below", function () {
    assert.deepEqual(CASES.map((c) => c.type).sort(), PSS_FUNCTIONS.map((f) => f.type).sort());
  });

  for (const c of CASES) {
    it(`${c.type}: ${c.happy}`, async function () {
      const data = await start(c.type, (s) => c.seedHappy(s), c.node);
      const reader = openPoolStore(dbFile);
      try {
        const before = lastSeq(reader);
        const refusals: Msg[] = [];
        helper.getNode("caught").on("input", (m: Msg) => refusals.push(m));
        const got = nextMessage("out");
        helper.getNode("fn").receive({ payload: c.payload(data), topic: "happy" });
        const out = await got;
        assert.deepEqual(refusals.map((m) => m.error), [], "no refusal");
        assert.equal(out.topic, "happy", "the message's other properties pass through");
        c.check({ store: reader, out, audit: auditAfter(reader, before), state: (sn) => reader.getSerialNumber(sn)?.state }, data);
        assert.equal(reader.verifyAudit().ok, true, "the audit chain verifies and replays to the stored states");
      } finally {
        reader.close();
      }
    });

    it(`${c.type}: refuses ${c.refusal.what} at the Catch node with ${c.refusal.code}, the file unchanged`, async function () {
      const data = await start(c.type, (s) => c.refusal.seed(s), c.node);
      const before = dbDigest(dbFile);
      const sent: Msg[] = [];
      helper.getNode("out").on("input", (m: Msg) => sent.push(m));
      const payload = c.refusal.payload(data);
      const caught = nextMessage("caught");
      helper.getNode("fn").receive({ payload, topic: "refused" });
      const err = await caught;
      assert.equal(err.error.code, c.refusal.code, err.error.message);
      assert.equal(err.error.source.id, "fn");
      assert.equal(err.error.source.type, c.type);
      if (c.refusal.match) assert.match(err.error.message, c.refusal.match);
      assert.equal(err.topic, "refused", "the Catch node gets the original message");
      assert.deepEqual(err.payload, payload);
      assert.deepEqual(sent, [], "nothing is sent on");
      assert.equal(dbDigest(dbFile), before, "the pool file is exactly as before");
    });
  }
});

/** The default of a property as the editor gives it to a new node (the `defaults` of its .html in dist). */
function editorDefault(type: string, prop: string): number {
  const html = fs.readFileSync(path.resolve(__dirname, "..", "..", "nodes", type, `${type}.html`), "utf8");
  const m = new RegExp(`\\b${prop}: \\{ value: "?(\\d+)"?`).exec(html);
  assert.ok(m, `${type}.html gives ${prop} a numeric default`);
  return Number(m[1]);
}

describe("what the function nodes show: empty and partial requests, pool low and top-ups", function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;

  beforeEach(async function () {
    tmp = tmpDir("serialflow-fn-");
    dbFile = path.join(tmp.dir, "pool.db");
    await helper.startServer();
  });

  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  /** Every status a node shows from now on. */
  function statuses(id: string): Array<{ fill?: string; shape?: string; text?: string }> {
    const n = helper.getNode(id) as any;
    const seen: Array<{ fill?: string; shape?: string; text?: string }> = [];
    const orig = n.status.bind(n);
    n.status = (s: { fill?: string; shape?: string; text?: string }) => {
      seen.push(s);
      return orig(s);
    };
    return seen;
  }

  function lineFlow(o: { lowThreshold: number; requestCount: number; adminCount: number }) {
    return [
      { id: "t", type: "tab", label: "line" },
      { id: "pool", type: "pss-pool", mode: "local", dbFile, poolId: POOL, sidClass: "GS1-SGTIN", criteria: [], guardPolicy: "strict", lowThreshold: o.lowThreshold, maxRequest: 10000 },
      { id: "fn", z: "t", type: "pss-sn-request-allocated", name: "", pool: "pool", count: o.requestCount, snFormat: "SERIALONLY", snCollectionId: "", wires: [["out"]] },
      { id: "st", z: "t", type: "pss-pool-admin", name: "pool status", pool: "pool", action: "status", count: o.adminCount, wires: [["admin-out"], ["admin-low"]] },
      { id: "up", z: "t", type: "pss-pool-admin", name: "generate", pool: "pool", action: "generate", count: o.adminCount, wires: [["admin-out"], ["admin-low"]] },
      { id: "out", z: "t", type: "helper" },
      { id: "admin-out", z: "t", type: "helper" },
      { id: "admin-low", z: "t", type: "helper" },
      { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", z: "t", type: "helper" },
    ];
  }

  async function load(o: { lowThreshold: number; requestCount: number; adminCount: number }, free = 0) {
    const store = openPoolStore(dbFile, { actor: "seed" });
    try {
      store.createPool({ poolId: POOL, sidClass: "GS1-SGTIN", selectionCriteria: { PoolID: POOL }, lowThreshold: o.lowThreshold });
      if (free) store.provision(POOL, sns("FR", free));
    } finally {
      store.close();
    }
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, lineFlow(o) as any);
  }

  it("pss-sn-request-allocated: a partial result is sent on with InsufficientSerialNumbers and a yellow status", async function () {
    await load({ lowThreshold: 0, requestCount: 10, adminCount: 1000 }, 4);
    const seen = statuses("fn");
    const got = nextMessage("out");
    helper.getNode("fn").receive({ payload: { count: 10 } });
    const msg = await got;
    assert.equal(msg.payload.returnStatus, "InsufficientSerialNumbers");
    assert.equal(msg.payload.snCollection.serialNumbers.length, 4);
    assert.deepEqual(seen.at(-1), { fill: "yellow", shape: "dot", text: "4 · InsufficientSerialNumbers" });
  });

  it("pss-sn-request-allocated: on an empty pool nothing is sent; the Catch node gets InsufficientSerialNumbers naming the pool and the count, the status is red", async function () {
    await load({ lowThreshold: 0, requestCount: 10, adminCount: 1000 });
    const seen = statuses("fn");
    const sent: Msg[] = [];
    helper.getNode("out").on("input", (m: Msg) => sent.push(m));
    const caught = nextMessage("caught");
    helper.getNode("fn").receive({ payload: { count: 12 } });
    const err = await caught;
    assert.equal(err.error.code, "InsufficientSerialNumbers");
    assert.match(err.error.message, /pool PF/);
    assert.match(err.error.message, /\b12 were asked for/);
    assert.deepEqual(sent, []);
    assert.deepEqual(seen.at(-1), { fill: "red", shape: "dot", text: "InsufficientSerialNumbers" });
  });

  it("pss-sn-request-allocated: a fresh pool with the editor's defaults is not low after its first request", async function () {
    const defaults = {
      lowThreshold: editorDefault("pss-pool", "lowThreshold"),
      requestCount: editorDefault("pss-sn-request-allocated", "count"),
      adminCount: editorDefault("pss-pool-admin", "count"),
    };
    await load(defaults);
    const seen = statuses("fn");
    const adminSeen = statuses("up");
    // fill the fresh pool the way the palette suggests: pss-pool-admin generate with its default count
    const filled = nextMessage("admin-out");
    helper.getNode("up").receive({ payload: { action: "generate" } });
    assert.equal((await filled).payload.added, defaults.adminCount);
    assert.equal(adminSeen.at(-1)?.fill, "green");
    const got = nextMessage("out");
    helper.getNode("fn").receive({ payload: {} });
    const msg = await got;
    assert.equal(msg.payload.snCollection.serialNumbers.length, defaults.requestCount);
    assert.deepEqual(seen.at(-1), { fill: "green", shape: "dot", text: `${defaults.requestCount} · SNRequestAllocated` }, "no 'pool low' after the first request");
  });

  it("pss-sn-request-allocated and pss-pool-admin: a top-up clears the 'pool low' status of every node on the pool", async function () {
    await load({ lowThreshold: 50, requestCount: 20, adminCount: 100 }, 60);
    const fnSeen = statuses("fn");
    const statusSeen = statuses("st");
    // the request leaves 40 free, under 50: the function node says so
    const got = nextMessage("out");
    helper.getNode("fn").receive({ payload: {} });
    await got;
    assert.deepEqual(fnSeen.at(-1), { fill: "yellow", shape: "dot", text: "20 · pool low" });
    // the status node reads the pool: low
    const read = nextMessage("admin-out");
    helper.getNode("st").receive({ payload: {} });
    await read;
    assert.deepEqual(statusSeen.at(-1), { fill: "yellow", shape: "dot", text: "40 free · low" });
    // another node tops the pool up: both statuses clear without a message of their own
    const topped = nextMessage("admin-out");
    helper.getNode("up").receive({ payload: {} });
    assert.equal((await topped).payload.added, 100);
    await until("the function node's status to clear", () => (fnSeen.at(-1)?.fill === "green" ? true : undefined), 30_000);
    assert.deepEqual(fnSeen.at(-1), { fill: "green", shape: "dot", text: "20 · SNRequestAllocated" });
    await until("the status node to read the pool again", () => (statusSeen.at(-1)?.fill === "green" ? true : undefined), 30_000);
    assert.deepEqual(statusSeen.at(-1), { fill: "green", shape: "dot", text: "140 free" });
  });
});
