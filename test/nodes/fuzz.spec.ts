/* 1,000 generated malformed messages into each node type: every one is answered with an error at the Catch
   node (with the original message), nothing is sent on, the node stays up (a valid message still works
   afterwards), and the store is unchanged (a digest of the whole database before and after). */
import assert from "node:assert/strict";
import * as path from "path";
import { helper, allNodeModules, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";
import { openPoolStore } from "../../nodes/core/store";
import { PSS_FUNCTIONS, type PssFunction } from "../../nodes/common/functions";

const POOL = "FZ";
const N = 1000;

/** mulberry32: a seeded generator, so a failure can be replayed */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Gen = (r: () => number, known: string[]) => unknown;
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const junk = [null, 1.5, -1, "text", true, [], {}, [1, 2], "𝒮𝒩\u0000", { a: { b: 1 } }];
const badSerials = (r: () => number): unknown => pick(r, [
  "notalist", [], [1, 2], [null], ["ok", "ok"], ["bad\u0001char"], [""], ["x".repeat(200)], [{}],
  Array.from({ length: 100_001 }, (_, i) => `H${i}`),
]);
const protoPayload = () => JSON.parse('{"__proto__": {"count": 5}, "serialNumbers": ["A"]}');
const unknownSerials = (r: () => number) => Array.from({ length: 1 + Math.floor(r() * 5) }, () => `UNKNOWN-${Math.floor(r() * 1e9)}`);

/** payloads every node must refuse, per argument shape; `known` are numbers in the store in state Unassigned */
const GENERATORS: Record<string, Gen[]> = {
  request: [
    (r) => ({ count: pick(r, [-1, 0, 2.5, "10", 1e12, true, [], {}, null, Number.NaN]) }),
    (r) => ({ count: 1, requestToken: `bogus-${Math.floor(r() * 1e9)}` }),
    (r) => ({ count: 1, poolSelectionCriteria: { GTIN: String(Math.floor(r() * 1e14)) } }),
    (r) => ({ count: 1, poolSelectionCriteria: pick(r, ["x", [1], [{ key: 1, value: "a" }], { k: 5 }]) }),
    (r) => ({ count: 1, snFormat: pick(r, ["WEIRD", "serialonly?", "EPC-URI-X"]) }),
    (r) => ({ count: 1, snCollectionId: pick(r, [5, {}, [], true]) }),
    () => protoPayload(),
    (r) => pick(r, ["a string", [1, 2, 3], [{ count: 1 }]]),
  ],
  snCollection: [
    (r) => pick(r, [undefined, null, 42, "text", true, [], [1]]),
    () => ({}),
    (r) => ({ serialNumbers: badSerials(r) }),
    (r) => ({ snCollection: pick(r, [null, "x", [], { id: "C" }, { id: 5, serialNumbers: ["A"] }]) }),
    (r) => ({ serialNumbers: ["ok1"], snFormat: pick(r, junk.filter((j) => j !== null && typeof j !== "string")) }), // null means "not given"
    () => protoPayload(),
    (r) => ({ serialNumbers: [pick(r, ["é-accent", "𝒮𝒩", "tab\there", "x".repeat(21), "space inside", "hash#sign"])] }), // none in GS1 CSET 82 or over AI 21's 20 characters
  ],
  event: [
    (r) => pick(r, [undefined, null, 42, "text", true, [], [1]]),
    () => ({}),
    (r) => ({ serialNumbers: badSerials(r) }),
    (r) => ({ serialNumbers: unknownSerials(r) }),
    (r, known) => ({ serialNumbers: [pick(r, known), ...unknownSerials(r)] }),
    (r) => ({ labelCollection: pick(r, [null, "x", [], {}, { labelCollection: "x" }, { labelCollection: [{}] }, { serialNumbers: ["A"], labelCollection: [{ id: "B" }] }]) }),
    (r) => ({ serialNumbers: ["A"], eventContext: pick(r, ["x", [1], { k: 5 }, [{ key: "", value: "v" }]]) }),
    () => protoPayload(),
  ],
  aggregation: [
    (r) => pick(r, [undefined, null, 42, "text", true, [], [1]]),
    () => ({}),
    (r) => ({ parent: pick(r, [undefined, 5, "", null]), children: ["A"] }),
    (r) => ({ parent: "P1", children: badSerials(r) }),
    (r) => ({ aggregationElement: pick(r, [[], "x", [{}], [{ parentElement: { id: "P" } }], [{ parentElement: { id: "P" }, parentElementCollection: { serialNumbers: [] } }]]) }),
    (r) => ({ parent: `UNKNOWN-${Math.floor(r() * 1e9)}`, children: unknownSerials(r) }),
    (r, known) => ({ parent: pick(r, known), children: [pick(r, known.slice(10))] }),
    () => ({ parent: "SAME", children: ["SAME"] }),
    () => protoPayload(),
  ],
  guard: [
    (r) => pick(r, [undefined, null, 42, "text", true, [], [1]]),
    () => ({}),
    (r) => ({ serialNumbers: badSerials(r) }),
    (r) => ({ event: pick(r, ["teleporting", "COMMISSIONING", 5, ""]), serialNumbers: ["A"] }),
    () => protoPayload(),
  ],
  admin: [
    (r) => pick(r, ["text", [], [1], { action: "explode" }, { action: 5 }]),
    (r) => ({ action: "generate", count: pick(r, [-1, 0, 2.5, "10", 1e12, true, null]) }),
    (r) => ({ action: "import", data: pick(r, [5, null, {}, [], undefined]) }),
    () => protoPayload(),
  ],
};

function shapeOf(type: string): string {
  if (type === "pss-state-guard") return "guard";
  if (type === "pss-pool-admin") return "admin";
  const fn = PSS_FUNCTIONS.find((f) => f.type === type) as PssFunction;
  return fn.shape === "request" ? "request" : fn.shape === "snCollection" ? "snCollection" : fn.shape === "aggregation" ? "aggregation" : "event";
}

const TYPES = [...PSS_FUNCTIONS.map((f) => f.type), "pss-state-guard", "pss-pool-admin"];

/** a message every node type accepts, to show it is still up after the fuzzing */
function validPayload(type: string, known: string[]): unknown {
  const s = shapeOf(type);
  if (s === "request") return { count: 1 };
  if (s === "admin") return { action: "status" };
  if (s === "guard") return { serialNumbers: [known[0]] };
  return undefined;
}

describe("fuzz: 1,000 malformed messages into every node type", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;
  const known = Array.from({ length: 30 }, (_, i) => `FZ${String(i).padStart(6, "0")}`);

  before(async function () {
    tmp = tmpDir();
    dbFile = path.join(tmp.dir, "fuzz.db");
    const store = openPoolStore(dbFile);
    store.createPool({ poolId: POOL, sidClass: "GS1-SGTIN", selectionCriteria: { PoolID: POOL } });
    store.provision(POOL, known);
    store.close();
    await helper.startServer();
  });

  afterEach(async function () {
    await helper.unload(); // also after a failure, so that the next type starts clean
  });

  after(async function () {
    await helper.stopServer();
    tmp.cleanup();
  });

  TYPES.forEach((type, ti) => {
    it(`${type}: every malformed message is answered with an error; the store is unchanged; the node stays up`, async function () {
      const flow = [
        { id: "t", type: "tab", label: "fuzz" },
        { id: "pool", type: "pss-pool", mode: "local", dbFile, poolId: POOL, sidClass: "GS1-SGTIN", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 1000 },
        { id: "n", z: "t", type, name: "", pool: "pool", count: 10, snFormat: "SERIALONLY", snCollectionId: "", context: "", event: "commissioning", action: "status", wires: [["out"], ["out"]] },
        { id: "out", z: "t", type: "helper" },
        { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
        { id: "caught", z: "t", type: "helper" },
      ];
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow);
      const before = dbDigest(dbFile);
      const sent: unknown[] = [];
      const outputs: unknown[] = [];
      const errors: Array<Record<string, any>> = [];
      helper.getNode("out").on("input", (m: unknown) => outputs.push(m));
      helper.getNode("caught").on("input", (m: Record<string, any>) => errors.push(m));
      const gens = GENERATORS[shapeOf(type)];
      const r = rng(1000 + ti);
      const node = helper.getNode("n");
      for (let i = 0; i < N; i++) {
        const payload = pick(r, gens)(r, known);
        sent.push(payload);
        const answered = nextMessage("caught", 5000).catch(() => null);
        node.receive({ payload, fuzz: i });
        const err = await answered;
        assert.ok(err, `message ${i} (${JSON.stringify(payload)?.slice(0, 120)}) got no error; outputs so far: ${outputs.length}`);
      }
      assert.equal(outputs.length, 0, `no malformed message may be sent on; first: ${JSON.stringify(outputs[0])?.slice(0, 200)}`);
      assert.equal(errors.length, N);
      errors.forEach((e, i) => {
        assert.equal(e.fuzz, i, "each error carries its original message");
        assert.equal(typeof e.error.code, "string", `error ${i} has a code: ${e.error.message}`);
        assert.notEqual(e.error.code, "InternalError", `error ${i} is specific: ${e.error.message}`);
      });
      assert.equal(dbDigest(dbFile), before, "the store is exactly as before");
      // the node is still up
      const valid = validPayload(type, known);
      if (valid !== undefined) {
        const ok = nextMessage("out", 5000);
        node.receive({ payload: valid });
        await ok;
      }
    });
  });
});
