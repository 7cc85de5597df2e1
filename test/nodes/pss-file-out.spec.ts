/* Output files that never collide: pss-file-out writes each report to a new file under the user directory, and
   pss-epcis with {seq} in its Output file writes each export to a new file; nothing is ever overwritten. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { helper, allNodeModules, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { openPoolStore } from "../../nodes/core/store";

describe("pss-file-out and pss-epcis {seq}: a new file for every output", function () {
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(async function () {
    tmp = tmpDir("serialflow-fileout-");
    helper.settings({ userDir: tmp.dir });
    await helper.startServer();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  const flow = (file: string) => [
    { id: "t", type: "tab", label: "t" },
    { id: "w", z: "t", type: "pss-file-out", name: "", file, wires: [["out"]] },
    { id: "out", z: "t", type: "helper" },
    { id: "c", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "t", type: "helper" },
  ];

  it("writes every report to its own numbered file under the user directory and never overwrites one", async function () {
    // a file of the first number already exists (an earlier run): it is kept and the next number is used
    fs.mkdirSync(path.join(tmp.dir, "serialflow", "reports"), { recursive: true });
    fs.writeFileSync(path.join(tmp.dir, "serialflow", "reports", "eda-0001.csv"), "earlier\n");
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow("serialflow/reports/eda.csv") as any);
    const statuses: string[] = [];
    (helper.getNode("w") as any).on("call:status", (c: any) => statuses.push(c.args[0].text));
    const a = nextMessage("out");
    helper.getNode("w").receive({ payload: "A,B\r\n1,2\r\n" });
    const first = await a;
    const b = nextMessage("out");
    helper.getNode("w").receive({ payload: { report: "usage", applied: 3 } });
    const second = await b;
    assert.equal(first.file, path.join(tmp.dir, "serialflow", "reports", "eda-0002.csv"));
    assert.equal(second.file, path.join(tmp.dir, "serialflow", "reports", "eda-0003.csv"));
    assert.equal(first.filename, first.file);
    assert.equal(fs.readFileSync(first.file, "utf8"), "A,B\r\n1,2\r\n", "text as it is");
    assert.deepEqual(JSON.parse(fs.readFileSync(second.file, "utf8")), { report: "usage", applied: 3 }, "an object as JSON");
    assert.equal(fs.readFileSync(path.join(tmp.dir, "serialflow", "reports", "eda-0001.csv"), "utf8"), "earlier\n", "the earlier file is untouched");
  });

  it("shows the path written in the node status; an empty payload reaches Catch with InvalidArgument and writes nothing", async function () {
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow("serialflow/out/rel-{time}.json") as any);
    const node = helper.getNode("w") as any;
    const status = new Promise<string>((resolve) => node.on("call:status", (c: any) => c.args[0].fill === "green" && resolve(c.args[0].text)));
    const got = nextMessage("out");
    node.receive({ payload: { relations: [] } });
    const m = await got;
    assert.match(path.basename(m.file), /^rel-\d{8}T\d{6}Z\.json$/, "{time}: a UTC time stamp");
    assert.equal(await status, `→ ${path.relative(tmp.dir, m.file)}`);
    const caught = nextMessage("caught");
    node.receive({ payload: null });
    const err = await caught;
    assert.equal(err.error.code, "InvalidArgument");
    assert.deepEqual(fs.readdirSync(path.dirname(m.file)), [path.basename(m.file)], "no file for the refused message");
  });

  it("pss-epcis with {seq} in Output file: each export is a new file, the earlier one kept", async function () {
    const dbFile = path.join(tmp.dir, "line.db");
    const store = openPoolStore(dbFile);
    store.createPool({ poolId: "units", sidClass: "US-DSCSA", selectionCriteria: { PoolID: "units" }, guardPolicy: "strict" });
    store.provision("units", ["A1", "A2", "A3", "A4"]);
    store.close();
    const step = (id: string, type: string, next: string, more: Record<string, unknown> = {}) => ({ id, z: "t", type, name: "", pool: "p", snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [[next]], ...more });
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, [
      { id: "t", type: "tab", label: "t" },
      { id: "p", type: "pss-pool", mode: "local", dbFile, poolId: "units", sidClass: "US-DSCSA", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100 },
      step("req", "pss-sn-request-allocated", "enc", { count: 2 }),
      step("enc", "pss-labels-encoding", "com"),
      step("com", "pss-sid-commissioning", "done", { context: JSON.stringify({ lot: "L1", expiry: "281130" }) }),
      { id: "done", z: "t", type: "helper" },
      { id: "e", z: "t", type: "pss-epcis", name: "", pool: "p", source: "audit", identifiers: "epc", companyPrefixLength: 7, gtin: "00614141123452", readPoint: "0614141000005.1", bizLocation: "0614141000005", format: "jsonld", market: "US", outFile: "serialflow/hub-{seq}.jsonld", wires: [["eout"]] },
      { id: "eout", z: "t", type: "helper" },
      { id: "c", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", z: "t", type: "helper" },
    ] as any);
    const files: string[] = [];
    for (let i = 0; i < 2; i++) {
      const d = nextMessage("done");
      helper.getNode("req").receive({ payload: {} });
      await d;
      const e = nextMessage("eout");
      helper.getNode("e").receive({ payload: Date.now() });
      files.push((await e).payload.file);
    }
    assert.deepEqual(files.map((f) => path.relative(tmp.dir, f)), [path.join("serialflow", "hub-0001.jsonld"), path.join("serialflow", "hub-0002.jsonld")]);
    const com = files.map((f) => JSON.parse(fs.readFileSync(f, "utf8")).epcisBody.eventList.filter((ev: any) => ev.bizStep === "commissioning").flatMap((ev: any) => ev.epcList));
    assert.equal(com[0].length, 2, "the first file keeps the first two commissionings");
    assert.equal(com[1].length, 2, "the second file holds the next two");
    assert.equal(new Set([...com[0], ...com[1]]).size, 4);
  });
});
