/* Every flow in examples/ imported into Node-RED as a user imports it, deployed, and driven: units run through
   the simulated devices of each example that has a simulated PLC, and the pool's states, the PLC's counters and the
   audit chain are checked. Only 127.0.0.1 is used (printer and PLC ports are picked free). */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { helper, allNodeModules } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { until } from "../helpers/until";
import { freePort } from "../helpers/net";
import { epcisSchemaValidator } from "../helpers/epcis-schema";
import { REPO_ROOT } from "../helpers/paths";
import { openPoolStore } from "../../nodes/core/store";
import { aggregationFor } from "../../nodes/core/aggregation/hierarchy";

const EXAMPLES = path.join(REPO_ROOT, "examples");
type Doc = { type: string; epcisBody: { eventList: Array<Record<string, any>> } };

const UNITS = 200;

type FlowNode = { id: string; type: string; z?: string; wires?: string[][]; [k: string]: unknown };

/** Node-RED's own node modules an example may use, by type. */
function coreModules(): Record<string, unknown> {
  const dir = path.dirname(require.resolve("@node-red/nodes/package.json", { paths: [path.dirname(require.resolve("node-red"))] }));
  const m = (f: string) => require(path.join(dir, "core", f));
  return {
    inject: m("common/20-inject.js"),
    debug: m("common/21-debug.js"),
    comment: m("common/90-comment.js"),
    catch: m("common/25-catch.js"),
    function: m("function/10-function.js"),
    "link in": m("common/60-link.js"),
    "link out": m("common/60-link.js"),
    status: m("common/25-status.js"),
  };
}


function poolFile(userDir: string, pool: FlowNode): string {
  const f = typeof pool.dbFile === "string" && pool.dbFile.trim() ? pool.dbFile.trim() : path.join("serialflow", "serialflow.db");
  return path.resolve(userDir, f);
}

async function counts(poolNodeId: string): Promise<Record<string, number> & { available: number }> {
  const st = await (helper.getNode(poolNodeId) as any).getBackend().status();
  return { ...st.counts, available: st.available };
}

/** the per-market examples, which markets.spec.ts drives step by step */
const MARKET_FILE = /^(EU FMD|US DSCSA|Russia Chestny Znak|China NMPA|UAE Tatmeen|Saudi RSD|Brazil ANVISA|Egypt EDA|India export)\.json$/;

/** examples that need a third-party palette (node-red-contrib-opcua, @flowfuse/node-red-dashboard): driven in their own
 *  spec, plc-opcua.spec.ts and test/browser/operator-screen.spec.ts (the operator screen runs beside the demo there) */
const OWN_SPEC = new Set(["PLC over OPC UA.json", "Operator screen.json"]);
const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith(".json") && !OWN_SPEC.has(f)).sort();

describe("examples/: every flow imports, deploys and runs", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let refusals: Array<Record<string, any>>;
  let lastStatus: Record<string, { fill?: string; text?: string }> = {};
  let errors: string[] = [];
  let lastActivity = Date.now();

  beforeEach(async function () {
    tmp = tmpDir("serialflow-examples-");
    helper.settings({ userDir: tmp.dir });
    await helper.startServer();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  it("finds the examples, the simulated line demo among them", function () {
    assert.ok(files.includes("Simulated line demo.json"), files.join(", "));
  });

  for (const file of files) {
    it(`${file}: deploys cleanly${file === "Simulated line demo.json" ? ` and runs ${UNITS} units through the simulated line` : ""}`, async function () {
      const flow = JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), "utf8")) as FlowNode[];
      // the server example serves on 4840 as imported; here on a free port, since other Node-REDs may hold 4840
      const port = await freePort();
      for (const n of flow) {
        if (n.type === "pss-opcua-server" && n.port === 4840) n.port = port;
        if (n.type === "pss-pool" && typeof n.endpointUrl === "string") n.endpointUrl = n.endpointUrl.replace(":4840", `:${port}`);
        // the demo's PLC serves on the fixed port 4842 (its operator screen reads it there): here on a free one
        if (n.type === "pss-sim-plc" && n.opcuaPort === 4842) n.opcuaPort = await freePort();
      }
      const core = coreModules();
      const unknownTypes = [...new Set(flow.map((n) => n.type))].filter((t) => t !== "tab" && !t.startsWith("pss-") && !(t in core));
      assert.deepEqual(unknownTypes, [], "the example uses only our nodes and core nodes");
      assert.ok(flow.some((n) => n.type === "comment"), "the example has a comment node that says what it shows");
      const used = [...new Set(Object.entries(core).filter(([t]) => flow.some((n) => n.type === t)).map(([, m]) => m))];
      // credentials carried in the example, as the editor's Import applies them
      const credentials: Record<string, unknown> = {};
      for (const n of flow) if (n.credentials) credentials[n.id] = n.credentials;
      await helper.load([...allNodeModules(), ...used] as any, flow as any, credentials as any);

      // what a person sees on every node: its last status (never red at the end), and no error in the log
      lastStatus = {};
      errors = [];
      for (const n of flow.filter((x) => x.type !== "tab" && x.type !== "pss-pool")) {
        const node = helper.getNode(n.id) as any;
        node.on("call:status", (c: any) => (lastStatus[n.id] = c.args[0] ?? {}));
        node.on("call:error", (c: any) => errors.push(`${n.id} (${n.type}): ${String(c.args[0]?.message ?? c.args[0])}`));
        node.on("input", () => (lastActivity = Date.now()));
      }
      // whatever reaches a Catch node is a refusal; the examples drive only what the state model allows
      refusals = [];
      for (const c of flow.filter((n) => n.type === "catch")) {
        // (a link out among its targets, the demo's "to the operator screen", carries the line's other events too)
        const targets = (c.wires ?? []).flat().filter((t) => flow.find((n) => n.id === t)?.type !== "link out");
        for (const target of targets) helper.getNode(target).on("input", (m: Record<string, any>) => refusals.push(m));
      }
      // a remote pool lives on a server; the local ones are opened here
      const pools = flow.filter((n) => n.type === "pss-pool" && n.mode !== "remote");
      for (const p of pools) {
        await until(`pool ${String(p.poolId)} to open`, async () => ((await counts(p.id)) ? true : undefined), 10_000);
      }
      for (const n of flow.filter((x) => x.type !== "tab" && x.type !== "pss-pool" && !x.z)) assert.fail(`node ${n.id} (${n.type}) sits on no tab`);

      const plcs = flow.filter((n) => n.type === "pss-sim-plc");
      if (MARKET_FILE.test(file)) console.log(`      (${file} is clicked through and its outcome checked in markets.spec.ts)`);
      else if (plcs.length) await driveLine(flow, plcs);
      else if (file === "Every PSS function.json") await driveEveryFunction(flow);
      else if (file === "OPEN-SCS server and remote pool.json") await driveSiteAndLine(flow);
      else console.log(`      (no simulated devices and no driver in this test for ${file}: checked that it deploys)`);

      assert.deepEqual(refusals.map((m) => `${m.error?.code}: ${m.error?.message}`), [], "nothing was refused");
      const red = Object.entries(lastStatus).filter(([, st]) => st.fill === "red").map(([id, st]) => `${id}: ${st.text}`);
      assert.deepEqual(red, [], "no node ends red");
      const meaningless = Object.entries(lastStatus).filter(([, st]) => /\bundefined\b|\bNaN\b|\[object Object\]/.test(String(st.text ?? ""))).map(([id, st]) => `${id}: ${st.text}`);
      assert.deepEqual(meaningless, [], "no status text says undefined, NaN or [object Object]");
      assert.deepEqual(errors, [], "no error in the Node-RED log");
      for (const p of pools) {
        const store = openPoolStore(poolFile(tmp.dir, p));
        try {
          const v = store.verifyAudit();
          assert.equal(v.ok, true, `the audit chain of ${String(p.poolId)} verifies`);
        } finally {
          store.close();
        }
      }
    });
  }

  /** The site generates numbers; the line's remote pool draws a batch from it over OPC UA, as the injects say. */
  async function driveSiteAndLine(flow: FlowNode[]): Promise<void> {
    const injects = flow.filter((n) => n.type === "inject").sort((a, b) => Number(a.y) - Number(b.y));
    assert.equal(injects.length, 2, "1. generate on the site, 2. request on the line");
    const site = flow.find((n) => n.type === "pss-pool" && n.mode !== "remote")!;
    // generation runs in steps (the pool fills while it runs): wait for pss-pool-admin's result, not the first numbers
    const admin = flow.find((n) => n.type === "pss-pool-admin")!;
    const generated = new Promise<Record<string, any>>((resolve) => helper.getNode((admin.wires ?? [])[0][0]).once("input", resolve));
    helper.getNode(injects[0].id).receive({ payload: Date.now() });
    const gen = await Promise.race([generated, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the site did not finish generating")), 120_000))]);
    assert.equal(gen.payload.added, Number(admin.count), "the site generated what its inject says");
    const before = (await counts(site.id)).available;
    assert.ok(before >= 25_000, "the site holds enough for the line's batch");
    const request = flow.find((n) => n.type === "pss-sn-request-allocated")!;
    const got = new Promise<Record<string, any>>((resolve) => helper.getNode((request.wires ?? [])[0][0]).once("input", resolve));
    // the remote pool connects as the server comes up; the request retries the connection itself
    helper.getNode(injects[1].id).receive({ payload: JSON.parse(String(injects[1].payload)) });
    const msg = await Promise.race([got, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no numbers from the site; refusals: ${JSON.stringify(refusals.map((m) => m.error))}`)), 90_000))]);
    const numbers = msg.payload.snCollection.serialNumbers as string[];
    assert.equal(msg.payload.returnStatus, "NoError");
    assert.equal(numbers.length, 25_000);
    assert.equal(new Set(numbers).size, 25_000, "no number twice");
    const after = await counts(site.id);
    assert.equal(after.Allocated, 25_000, "the site holds the line's numbers as Allocated");
    assert.equal(after.available, before - 25_000);
  }

  /** Units through the simulated line: every unit decided at the gate, every number in the state its unit's fate says,
   *  good units aggregated into cases of 10 SSCCs, each case shipped with its units and reported in an EPCIS document. */
  async function driveLine(flow: FlowNode[], plcs: FlowNode[]): Promise<void> {
    const pools = flow.filter((n) => n.type === "pss-pool");
    const pool = pools.find((n) => n.sidClass !== "GS1-SSCC")!;
    const ssccPool = pools.find((n) => n.sidClass === "GS1-SSCC");
    assert.ok(ssccPool, "the demo has an SSCC pool for its cases");
    assert.equal(poolFile(tmp.dir, ssccPool!), poolFile(tmp.dir, pool), "the SSCC pool lives in the unit pool's file (the hierarchy is kept there)");
    const aggregator = flow.find((n) => n.type === "pss-aggregator");
    assert.ok(aggregator, "the demo aggregates");
    const exporter = flow.find((n) => n.type === "pss-epcis");
    assert.ok(exporter, "the demo reports in EPCIS");
    const ship = flow.find((n) => n.type === "pss-sid-shipping")!;
    const close = flow.find((n) => n.type === "inject" && (n.wires ?? []).flat().includes(aggregator!.id))!;
    assert.ok(close, "an inject closes the open case");
    // what the line sends out: every shipment (the shipping results) and every EPCIS document
    const shipments: string[][] = [];
    const docs: Doc[] = [];
    helper.getNode((ship.wires ?? [])[0][0]).on("input", (m: Record<string, any>) => shipments.push(m.payload.serialNumbers));
    // each shipped case's document is written to a new file, announced with its path
    const docFiles: string[] = [];
    helper.getNode((exporter!.wires ?? [])[0][0]).on("input", (m: Record<string, any>) => {
      docFiles.push(m.payload.file);
      docs.push(JSON.parse(fs.readFileSync(m.payload.file, "utf8")));
    });
    const refusedScans: string[] = [];
    for (const t of (aggregator!.wires ?? [])[1] ?? []) helper.getNode(t).on("input", (m: Record<string, any>) => refusedScans.push(`${m.payload.code}: ${m.payload.reason}`));

    // the flow tops both pools up on deploy
    await until("the pool to be provisioned", async () => ((await counts(pool.id)).available >= UNITS ? true : undefined), 30_000);
    await until("the SSCC pool to be provisioned", async () => ((await counts(ssccPool!.id)).available >= UNITS / 10 ? true : undefined), 30_000);
    for (const p of flow.filter((n) => n.type === "pss-sim-printer")) assert.ok(((await (helper.getNode(p.id) as any).ready) as number) > 0, "the printer listens");
    const plc = helper.getNode(plcs[0].id) as any;
    const ep = await plc.opcuaReady;
    if (plcs[0].opcua) assert.match(ep?.endpointUrl ?? "", /^opc\.tcp:\/\/127\.0\.0\.1:\d+$/, "the PLC serves its counters on loopback");
    plc.receive({ payload: { command: "step", count: UNITS } });
    const c = await until("every unit to reach the gate", () => {
      const k = plc.plc.counters();
      return k.total === UNITS && k.pending === 0 ? k : undefined;
    });
    const printers = flow.filter((n) => n.type === "pss-sim-printer").map((n) => (helper.getNode(n.id) as any).printer);
    const misprints = printers.reduce((a: number, p: any) => a + p.stats.failed, 0);
    // the last full case ships right after its tenth unit passed the gate; the rest wait in the open case
    const s = await until("the pool to settle", async () => {
      const k = await counts(pool.id);
      return k.Commissioned + k.Released === c.good && k.Commissioned === c.good % 10 && shipments.length === Math.floor(c.good / 10) && docs.length === shipments.length ? k : undefined;
    }, 10_000);
    console.log(`      line: ${c.good} good, ${c.rejected} rejected (${misprints} misprints); pool: ${s.Released} Released, ${s.Commissioned} Commissioned, ${s.LabelScrapped} LabelScrapped, ${s.SNInvalid} SNInvalid; ${shipments.length} cases shipped`);
    assert.equal(c.good + c.rejected, UNITS);
    assert.ok(c.good > UNITS * 0.8, `most units are good (${c.good})`);
    assert.ok(c.rejected > 0, "the simulated faults reject some units");
    assert.equal(s.Allocated, 0, "no number is left allocated");
    assert.equal(s.Encoded, 0, "no printed label is left undecided");
    // a misprinted label exists physically: it is scrapped, never invalidated (invalidating is for numbers never printed)
    assert.ok(misprints > 0, "the simulated printer misprinted some labels");
    assert.equal(s.SNInvalid, 0, "no printed number is invalidated");
    assert.equal(s.LabelScrapped, c.rejected, "each rejected unit's label is scrapped, misprints included");
    const audit = openPoolStore(poolFile(tmp.dir, pool));
    const scrapped = (() => {
      try {
        return [...audit.auditRecords({})].filter((r) => r.event === "label_scrapping" && r.poolId === pool.poolId);
      } finally {
        audit.close();
      }
    })();
    assert.equal(scrapped.filter((r) => r.context?.reason === "misprint").reduce((n, r) => n + r.serialNumbers.length, 0), misprints, "each misprint scrapped as a misprint");
    assert.deepEqual(refusedScans, [], "the aggregator refused no scan");
    for (const sh of shipments) assert.equal(sh.length, 11, "a full case ships as its SSCC and its 10 units");

    // end of the lot: 'Close the open case' closes the partial case, which ships too
    if (c.good % 10) {
      helper.getNode(close.id).receive({ payload: JSON.parse(String(close.payload)) });
      await until("the partial case to ship", async () => ((await counts(pool.id)).Released === c.good && docs.length === Math.ceil(c.good / 10) ? true : undefined), 10_000);
      assert.equal(shipments[shipments.length - 1].length, 1 + (c.good % 10), "the partial case ships with the units it holds");
    }
    const cases = Math.ceil(c.good / 10);
    assert.equal(shipments.length, cases, "one shipment per case");
    const k = await counts(ssccPool!.id);
    assert.equal(k.Released, cases, "each case's SSCC is Released");
    assert.equal((k.Allocated ?? 0) + (k.Encoded ?? 0) + (k.Commissioned ?? 0), 0, "no SSCC drawn and left behind");

    // the hierarchy in the pool file: each shipped SSCC holds exactly the units shipped with it, all Released
    const store = openPoolStore(poolFile(tmp.dir, pool));
    const units = new Set<string>();
    try {
      const agg = aggregationFor(store);
      for (const [sscc, ...children] of shipments) {
        assert.match(sscc, /^09506000\d{10}$/, "the case is an SSCC of the demo's company prefix");
        assert.deepEqual([...agg.childrenOf(sscc)].sort(), [...children].sort(), `case ${sscc} holds the units shipped with it`);
        assert.equal(agg.tree(sscc)?.children?.length, children.length);
        for (const sn of [sscc, ...children]) assert.equal(store.getSerialNumber(sn)?.state, "Released", `${sn} is Released`);
        for (const u of children) units.add(u);
      }
      assert.equal(units.size, c.good, "every good unit is in exactly one case");
    } finally {
      store.close();
    }

    // one EPCIS document per shipped case, valid, and together: every commissioning, every case packed, every shipment
    assert.equal(docs.length, cases, "an EPCIS document per shipped case");
    assert.equal(new Set(docFiles).size, cases, "each in a file of its own");
    for (const f of docFiles) assert.ok(f.startsWith(path.join(tmp.dir, "serialflow", "demo") + path.sep), `${f} under the user directory`);
    const validate = epcisSchemaValidator();
    const events = docs.flatMap((d) => {
      assert.equal(d.type, "EPCISDocument");
      if (validate) assert.equal(validate(d), null, "valid against the EPCIS 2.0 JSON schema");
      return d.epcisBody.eventList;
    });
    const epcs = (step: string) => events.filter((e) => e.bizStep === step).flatMap((e) => e.epcList as string[]);
    const com = epcs("commissioning");
    assert.equal(com.filter((x) => x.startsWith("urn:epc:id:sgtin:9506000.013435.")).length, c.good, "every good unit commissioned, as an SGTIN of the demo's GTIN");
    assert.equal(com.filter((x) => x.startsWith("urn:epc:id:sscc:9506000.")).length, cases, "every case's SSCC commissioned");
    const packing = events.filter((e) => e.type === "AggregationEvent");
    assert.equal(packing.length, cases, "one AggregationEvent per case");
    assert.equal(packing.reduce((n, e) => n + e.childEPCs.length, 0), c.good, "every good unit packed");
    const shippedEpcs = epcs("shipping");
    assert.equal(shippedEpcs.length, c.good + cases, "every case and unit shipped");
    assert.equal(new Set(shippedEpcs).size, shippedEpcs.length, "nothing shipped twice");
  }

  /** Click every inject top to bottom as a person does, each step left to settle (no message for a while). */
  async function clickThrough(flow: FlowNode[]): Promise<void> {
    const injects = flow.filter((n) => n.type === "inject").sort((a, b) => Number(a.y) - Number(b.y) || Number(a.x) - Number(b.x));
    for (const i of injects) {
      lastActivity = Date.now();
      helper.getNode(i.id).receive({ payload: i.payloadType === "json" ? JSON.parse(String(i.payload)) : Date.now() });
      await until(`step "${String(i.name)}" to settle`, () => (Date.now() - lastActivity > 600 ? true : undefined));
      assert.deepEqual(refusals.map((m) => `${m.error?.code}: ${m.error?.message}`), [], `nothing refused after "${String(i.name)}"`);
    }
  }

  /** Every step of the example, clicked in order; the numbers end in the states the steps say, every change audited. */
  async function driveEveryFunction(flow: FlowNode[]): Promise<void> {
    await clickThrough(flow);
    const k = await counts("all-pool");
    const total = Object.entries(k).filter(([s]) => s !== "available").reduce((a, [, v]) => a + (v as number), 0);
    console.log(`      pool: ${Object.entries(k).filter(([s, v]) => s !== "available" && v).map(([s, v]) => `${v} ${s}`).join(", ")}`);
    assert.equal(total, 207, "200 generated and 7 pushed");
    assert.equal(k.Released, 9, "the 7 packs left in the case, the case number and the spare shipped");
    assert.deepEqual([k.Sampled, k.Inactive, k.Destroyed], [1, 1, 1], "one pack sampled, one decommissioned, one destroyed");
    assert.deepEqual([k.LabelSampled, k.LabelScrapped, k.SNInvalid], [1, 1, 1], "one label sampled, one scrapped, one pushed number invalidated");
    assert.equal(k.Commissioned, 0, "nothing commissioned left behind");
    assert.equal(k.Encoded, 2, "the two numbers pushed to Encoded");
    assert.equal(k.Allocated, 2, "the two numbers pushed to Allocated: the 20 requested Allocated went back");
    assert.equal(k.Unassigned + k.Unallocated, 207 - 9 - 3 - 3 - 2 - 2, "the rest are free again (the returns put them back)");
    for (const d of ["all-d-req", "all-d-push", "all-d-inval", "all-d-run", "all-d-pack", "all-d-unpack", "all-d-sid", "all-d-ship"]) {
      assert.equal(lastStatus[d]?.text, "NoError", `debug ${d} shows the last call's returnStatus NoError`);
    }
    const store = openPoolStore(poolFile(tmp.dir, flow.find((n) => n.type === "pss-pool")!));
    try {
      const events = new Set<string>();
      for (const r of store.auditRecords({})) events.add(r.event);
      const want = ["sn_returning", "sn_invalidating", "sn_encoding", "label_inspecting", "label_sampling", "label_scrapping", "commissioning", "packing", "unpacking", "inspecting", "decommissioning", "destroying", "shipping"];
      assert.deepEqual(want.filter((e) => !events.has(e)), [], `every event of the example is audited (audit holds ${[...events].join(", ")})`);
    } finally {
      store.close();
    }
  }
});
