/* pss-label: label data for every SID class through the node, decoded back; the PNG preview read by a real
   DataMatrix decoder (@zxing/library, when installed); the ZPL of a Russian code with its GS separators; bad
   templates, sizes and identifiers refused with nothing sent. */
import assert from "node:assert/strict";
import * as path from "path";
import { helper, allNodeModules, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import * as gs1 from "../../nodes/core/gs1";
import * as sid from "../../nodes/core/sid";
import * as label from "../../nodes/core/label";

const GTIN = "04601234567893";
const CRYPTO_92 = "AbCdEfGh+/=1".repeat(4).slice(0, 44);
const RU_PROPS = { "91": "EE06", "92": CRYPTO_92 };

/** Valid serial numbers and node settings for a SID class. */
function sample(cls: sid.SidClass): { serialNumbers: string[]; settings: Record<string, string>; properties?: Record<string, string> } {
  if (cls.identifierType === "CN-DRUG-TRACE-20") return { serialNumbers: ["81234567890123456789", "81234567890123456790"], settings: {} };
  if (cls.identifierType === "SSCC") return { serialNumbers: [gs1.makeSscc("4601234", 0, 42), gs1.makeSscc("4601234", 0, 43)], settings: {} };
  const serialNumbers = cls.serialIssuer === "authority" ? ["Ab3De6Gh9Jk2M", "Xy7Zw5Vu3Ts1Q"].map((s) => s.slice(0, cls.serial.maxLength)) : sid.generatorForSidClass(cls.sidClassId).next(2);
  const settings: Record<string, string> = { gtin: GTIN };
  if (cls.requiredAIs.includes("10")) settings.lot = "LOT-7";
  if (cls.requiredAIs.includes("17")) settings.expiry = "271231";
  if (cls.requiredAIs.includes("713")) settings.nhrn = "1234567890123";
  return { serialNumbers, settings, ...(cls.requiredAIs.includes("91") ? { properties: RU_PROPS } : {}) };
}

/** The ^FD data of the DataMatrix field of a ZPL label (between "^FH\^FD" and "^FS"). */
function dataMatrixField(zpl: string): string {
  const m = /\^BXN,\d+,200,\d+,\d+,,~\^FH\\\^FD(.*?)\^FS/.exec(zpl);
  assert.ok(m, `no ^BX DataMatrix in ${zpl}`);
  return m[1];
}

/** @zxing/library and pngjs (devDependencies), or null when they are not installed. */
function decoder(): ((png: Buffer) => { text: string; rawBytes: Uint8Array }) | null {
  let Z: any;
  let PNG: any;
  try {
    Z = require("@zxing/library");
    PNG = require("pngjs").PNG;
  } catch {
    return null;
  }
  return (png) => {
    const img = PNG.sync.read(png);
    // a quiet zone of 5 modules around the symbol (bwip-js draws none), grey levels as a scanner sees them
    const pad = 20;
    const w = img.width + 2 * pad;
    const h = img.height + 2 * pad;
    const lum = new Uint8ClampedArray(w * h).fill(255);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const i = (y * img.width + x) * 4;
        const a = img.data[i + 3] / 255;
        lum[(y + pad) * w + x + pad] = (img.data[i] * 0.299 + img.data[i + 1] * 0.587 + img.data[i + 2] * 0.114) * a + 255 * (1 - a);
      }
    }
    const r = new Z.DataMatrixReader().decode(new Z.BinaryBitmap(new Z.HybridBinarizer(new Z.RGBLuminanceSource(lum, w, h))));
    return { text: r.getText(), rawBytes: r.getRawBytes() };
  };
}

function labelFlow(nodes: Array<Record<string, unknown>>, dbFile?: string): any[] {
  return [
    { id: "t", type: "tab", label: "labels" },
    ...(dbFile ? [{ id: "ruPool", type: "pss-pool", mode: "local", dbFile, poolId: "RU1", sidClass: "RU-CHESTNY-ZNAK", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100 }] : []),
    ...nodes.map((n) => ({ z: "t", type: "pss-label", name: "", pool: "", sidClass: "", gtin: "", lot: "", expiry: "", nhrn: "", template: "", extraFields: "", symbolSize: "auto", moduleDots: 6, digitalLinkDomain: "", preview: "none", wires: [[`${n.id}-out`]], ...n })),
    ...nodes.map((n) => ({ id: `${n.id}-out`, z: "t", type: "helper" })),
    { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "t", type: "helper" },
  ];
}

async function call(id: string, payload: unknown): Promise<Record<string, any>> {
  const got = nextMessage(`${id}-out`);
  helper.getNode(id).receive({ payload });
  return got;
}

async function refused(id: string, payload: unknown): Promise<{ err: Record<string, any>; sent: number }> {
  let sent = 0;
  helper.getNode(`${id}-out`).on("input", () => sent++);
  const got = nextMessage("caught");
  helper.getNode(id).receive({ payload });
  const err = await got;
  return { err, sent };
}

describe("pss-label node", function () {
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(async function () {
    tmp = tmpDir("serialflow-label-node-");
    await helper.startServer();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  it("for every SID class: the ZPL DataMatrix data, decoded back with gs1.parse, gives the label's AIs; PNG previews decoded by a real DataMatrix reader give the same", async function () {
    const classes = sid.listSidClasses();
    const nodes = classes.map((c, i) => ({ id: `l${i}`, sidClass: c.sidClassId, preview: "png", ...sample(c).settings }));
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, labelFlow(nodes));
    const decode = decoder();
    if (!decode) console.log("      note: @zxing/library / pngjs absent: PNG previews not decoded, only the encoded data checked");
    let decoded = 0;
    for (const [i, cls] of classes.entries()) {
      const s = sample(cls);
      const m = await call(`l${i}`, { labelCollection: { id: "LC", serialNumbers: s.serialNumbers }, ...(s.properties ? { properties: s.properties } : {}) });
      assert.equal(m.payload.labels.length, 2, cls.sidClassId);
      for (const [j, l] of (m.payload.labels as Array<Record<string, any>>).entries()) {
        assert.equal(l.serialNumber, s.serialNumbers[j]);
        assert.ok(Buffer.isBuffer(l.preview), `${cls.sidClassId}: PNG preview`);
        const field = dataMatrixField(l.zpl);
        if (cls.identifierType === "CN-DRUG-TRACE-20") {
          assert.equal(l.nationalCode, s.serialNumbers[j]);
          assert.equal(field, s.serialNumbers[j]);
          if (decode) assert.equal(decode(l.preview).text, s.serialNumbers[j]);
          continue;
        }
        const want = gs1.parse(l.bracketed);
        assert.equal(cls.checkIdentifier(want), null, cls.sidClassId);
        assert.equal(want.find((a) => a.ai === "21" || a.ai === "00")?.value, s.serialNumbers[j], cls.sidClassId);
        // the ZPL: FNC1 first (\7E1 = the ^BX escape ~1), GS as \1D
        assert.ok(field.startsWith("\\7E1"), `${cls.sidClassId}: FNC1 first`);
        assert.deepEqual(gs1.parse(label.elementStringFromZplData(field)), want, cls.sidClassId);
        assert.deepEqual(gs1.parse("]d2" + l.elementString), want, cls.sidClassId);
        if (decode) {
          const r = decode(l.preview);
          assert.equal(r.rawBytes[0], 232, `${cls.sidClassId}: the symbol's first codeword is FNC1 (GS1 DataMatrix)`);
          // zxing reports the leading FNC1 as GS (ASCII 29); every other GS is a separator
          assert.equal(r.text[0], gs1.GS);
          assert.deepEqual(gs1.parse("]d2" + r.text.slice(1)), want, cls.sidClassId);
          decoded++;
        }
      }
    }
    if (decode) assert.equal(decoded, 2 * classes.filter((c) => c.identifierType !== "CN-DRUG-TRACE-20").length);
  });

  it("a Russian code from the pool's SID class: per-label crypto tail, GS after AI 21 and AI 91 in the ZPL, no crypto in the HRI, label properties as template fields", async function () {
    const dbFile = path.join(tmp.dir, "ru.db");
    const template = "^XA^FO20,20^FD{{hri1}}^FS^FO20,60^FD{{hri2}}^FS^FO20,100^FD{{station}}^FS^FO300,20{{dataMatrix}}^XZ";
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, labelFlow([{ id: "ru", pool: "ruPool", gtin: GTIN, template, extraFields: "station", preview: "svg" }], dbFile));
    const other92 = "ZyXwVuTs+/=9".repeat(4).slice(0, 44);
    const m = await call("ru", {
      labelCollection: {
        id: "LC-RU",
        labelCollection: [
          { id: "Ab3De6Gh9Jk2M", labelProperties: { "91": "EE06", "92": CRYPTO_92, station: "L1" } },
          { id: "Xy7Zw5Vu3Ts1Q", labelProperties: { "91": "EE06", "92": other92, station: "L2" } },
        ],
      },
    });
    const [a, b] = m.payload.labels;
    assert.equal(m.payload.sidClass, "RU-CHESTNY-ZNAK");
    assert.equal(a.elementString, `01${GTIN}21Ab3De6Gh9Jk2M${gs1.GS}91EE06${gs1.GS}92${CRYPTO_92}`);
    assert.equal(a.nationalCode, a.elementString);
    assert.equal(b.elementString, `01${GTIN}21Xy7Zw5Vu3Ts1Q${gs1.GS}91EE06${gs1.GS}92${other92}`);
    assert.equal(a.zpl, `^XA^FO20,20^FD(01) ${GTIN}^FS^FO20,60^FD(21) Ab3De6Gh9Jk2M^FS^FO20,100^FDL1^FS^FO300,20^BXN,6,200,0,0,,~^FH\\^FD\\7E101${GTIN}21Ab3De6Gh9Jk2M\\1D91EE06\\1D92${CRYPTO_92}^FS^XZ`);
    assert.ok(b.zpl.includes("^FDL2^FS"));
    assert.deepEqual(a.hri, [`(01) ${GTIN}`, "(21) Ab3De6Gh9Jk2M"]);
    assert.ok(!a.zpl.includes(CRYPTO_92.slice(0, 10) + "^FS^FO"), "the crypto code is only in the symbol");
    assert.match(a.preview, /^<svg /);
    assert.equal(a.digitalLink.startsWith(`https://id.gs1.org/01/${GTIN}/21/Ab3De6Gh9Jk2M`), true);
    assert.equal(m.payload.zpl, `${a.zpl}\n${b.zpl}\n`);
  });

  it("takes lot and expiry from the encoding node's result (its event context) and the bracketed HRI of an EU pack", async function () {
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, labelFlow([{ id: "eu", sidClass: "EU-FMD", gtin: "09506000134352" }]));
    const m = await call("eu", { labelCollection: { id: "LC", serialNumbers: ["X7Y8Z9AB12"] }, pssEvent: { event: "sn_encoding", time: "2026-01-01T00:00:00Z", context: { lot: "L123", expiry: "261231" } } });
    const [l] = m.payload.labels;
    assert.equal(l.bracketed, "(01)09506000134352(17)261231(10)L123(21)X7Y8Z9AB12");
    assert.equal(l.elementString, `01095060001343521726123110L123${gs1.GS}21X7Y8Z9AB12`);
    assert.deepEqual(l.hri, ["(01) 09506000134352", "(17) 261231", "(10) L123", "(21) X7Y8Z9AB12"]);
    assert.equal(l.digitalLink, "https://id.gs1.org/01/09506000134352/10/L123/21/X7Y8Z9AB12?17=261231");
  });

  describe("bad input: a specific error at the Catch node, nothing sent", function () {
    it("a template with an unknown field: refused at deploy and at input", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, labelFlow([{ id: "bad", sidClass: "EU-FMD", gtin: "09506000134352", lot: "L", expiry: "261231", template: "^XA^FD{{gtin}} {{batchNo}}^FS^XZ" }]));
      const n = helper.getNode("bad") as any;
      assert.ok(n.error.calledWithMatch(/UnknownTemplateField.*\{\{batchNo\}\}/), "logged at deploy");
      const { err, sent } = await refused("bad", { serialNumbers: ["X7Y8Z9AB12"] });
      assert.equal(err.error.code, "UnknownTemplateField");
      assert.match(err.error.message, /\{\{batchNo\}\}/);
      assert.equal(sent, 0);
    });

    it("a declared extra field that a label does not bring: UnknownTemplateField at input, no label sent", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, labelFlow([{ id: "x", sidClass: "EU-FMD", gtin: "09506000134352", lot: "L", expiry: "261231", template: "^XA^FD{{customer}}^FS^XZ", extraFields: "customer" }]));
      const { err, sent } = await refused("x", { labelCollection: { labelCollection: [{ id: "X7Y8Z9AB12", labelProperties: { customer: "ACME" } }, { id: "X7Y8Z9AB13" }] } });
      assert.equal(err.error.code, "UnknownTemplateField");
      assert.equal(sent, 0, "the first label was fine, but nothing half-made leaves");
    });

    it("data too long for the chosen symbol size", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, labelFlow([{ id: "small", sidClass: "RU-CHESTNY-ZNAK", gtin: GTIN, symbolSize: "20x20" }]));
      const { err, sent } = await refused("small", { serialNumbers: ["Ab3De6Gh9Jk2M"], properties: RU_PROPS });
      assert.equal(err.error.code, "DataTooLongForSymbol");
      assert.match(err.error.message, /20x20/);
      assert.equal(err.error.cause.details[0].serialNumber, "Ab3De6Gh9Jk2M");
      assert.equal(sent, 0);
    });

    it("a symbol size DataMatrix does not have: refused at deploy", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, labelFlow([{ id: "odd", sidClass: "EU-FMD", symbolSize: "30x30" }]));
      const { err } = await refused("odd", { serialNumbers: ["X"] });
      assert.equal(err.error.code, "BadSymbolSize");
    });

    it("one identifier that breaks its SID class in a collection: BadIdentifier naming it, no label sent", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, labelFlow([{ id: "ru", sidClass: "RU-CHESTNY-ZNAK", gtin: GTIN }]));
      const { err, sent } = await refused("ru", { serialNumbers: ["Ab3De6Gh9Jk2M", "Ab3De6Gh9Jk2"], properties: RU_PROPS });
      assert.equal(err.error.code, "BadIdentifier");
      assert.match(err.error.message, /Ab3De6Gh9Jk2"/);
      assert.equal(sent, 0);
    });

    it("no SID class and no pool", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, labelFlow([{ id: "noclass" }]));
      const { err } = await refused("noclass", { serialNumbers: ["X"] });
      assert.equal(err.error.code, "MissingSidClass");
    });
  });
});
