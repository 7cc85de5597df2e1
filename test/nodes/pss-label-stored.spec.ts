/* pss-label with a pool: the AI data imported with each code (Russia's crypto key 91 and crypto code 92 from the
   authority order) goes into that code's label, as a number drawn from the pool carries only its serial. A value the
   message gives wins; a pool number without stored AI data is labelled as before. */
import assert from "node:assert/strict";
import * as path from "path";
import { helper, allNodeModules, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";

const GTIN = "04601234567893";
const tail = (c: string) => c.repeat(44).slice(0, 44);
const ORDER = [
  `(01)${GTIN}(21)Ab3De6Gh9Jk2M(91)EE06(92)${tail("Ab+/")}`,
  `(01)${GTIN}(21)Xy7Zw5Vu3Ts1Q(91)FF07(92)${tail("Zz9=")}`,
].join("\n");

describe("pss-label: AI data stored with the pool's numbers", function () {
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(async function () {
    tmp = tmpDir("serialflow-label-stored-");
    helper.settings({ userDir: tmp.dir });
    await helper.startServer();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  function flow(): any[] {
    return [
      { id: "t", type: "tab" },
      { id: "ruPool", type: "pss-pool", mode: "local", dbFile: path.join(tmp.dir, "ru.db"), poolId: "RU1", sidClass: "RU-CHESTNY-ZNAK", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100 },
      { id: "imp", z: "t", type: "pss-pool-admin", pool: "ruPool", action: "import", wires: [["impOut"], []] },
      { id: "impOut", z: "t", type: "helper" },
      { id: "lbl", z: "t", type: "pss-label", pool: "ruPool", sidClass: "", gtin: GTIN, wires: [["out"]] },
      { id: "out", z: "t", type: "helper" },
      { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["err"]] },
      { id: "err", z: "t", type: "helper" },
    ];
  }

  it("labels each imported code with its own crypto tail, GS after (21) and (91)", async function () {
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow());
    const imported = nextMessage("impOut");
    helper.getNode("imp").receive({ payload: { action: "import", data: ORDER } });
    assert.equal((await imported).payload.added, 2);
    const out = nextMessage("out");
    helper.getNode("lbl").receive({ payload: { serialNumbers: ["Xy7Zw5Vu3Ts1Q", "Ab3De6Gh9Jk2M"] } });
    const m = await out;
    const [x, a] = m.payload.labels;
    assert.equal(x.elementString, `01${GTIN}21Xy7Zw5Vu3Ts1Q\u001d91FF07\u001d92${tail("Zz9=")}`);
    assert.equal(a.elementString, `01${GTIN}21Ab3De6Gh9Jk2M\u001d91EE06\u001d92${tail("Ab+/")}`);
    assert.ok(x.zpl.includes(`\\7E101${GTIN}21Xy7Zw5Vu3Ts1Q\\1D91FF07\\1D92`), "ZPL: FNC1 first, GS as \\1D");
  });

  it("a value the message gives wins over the stored one", async function () {
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow());
    const imported = nextMessage("impOut");
    helper.getNode("imp").receive({ payload: { action: "import", data: ORDER } });
    await imported;
    const out = nextMessage("out");
    helper.getNode("lbl").receive({ payload: { serialNumbers: ["Ab3De6Gh9Jk2M"], properties: { "91": "KK11" } } });
    const m = await out;
    assert.equal(m.payload.labels[0].elementString, `01${GTIN}21Ab3De6Gh9Jk2M\u001d91KK11\u001d92${tail("Ab+/")}`);
  });

  it("a number the pool does not hold still needs its tail from the message (refused, nothing sent)", async function () {
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow());
    const err = nextMessage("err");
    let sent = false;
    helper.getNode("out").on("input", () => (sent = true));
    helper.getNode("lbl").receive({ payload: { serialNumbers: ["Qq1Ww2Ee3Rr4T"] } });
    const e = await err;
    assert.equal(e.error.code, "BadIdentifier", e.error.message);
    assert.equal(sent, false);
  });
});
