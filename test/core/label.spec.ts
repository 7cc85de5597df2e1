import assert from "node:assert/strict";
import * as gs1 from "../../nodes/core/gs1";
import * as sid from "../../nodes/core/sid";
import * as label from "../../nodes/core/label";

const GTIN = "04601234567893";
const CRYPTO_92 = "AbCdEfGh+/=1".repeat(4).slice(0, 44); // 44 characters of GS1 set 82
const CTX = { gtin: GTIN, lot: "LOT-7", expiry: "271231", nhrn: "1234567890123", properties: {} as Record<string, string> };

/** A valid serial number and label options for any SID class. */
function sample(cls: sid.SidClass): { serialNumber: string; options: label.LabelOptions } {
  const options: label.LabelOptions = { sidClass: cls.sidClassId };
  if (cls.identifierType === "CN-DRUG-TRACE-20") return { serialNumber: "81234567890123456789", options };
  if (cls.identifierType === "SSCC") return { serialNumber: gs1.makeSscc("4601234", 0, 42), options };
  const serialNumber = cls.serialIssuer === "authority" ? "Ab3De6Gh9Jk2M".slice(0, cls.serial.maxLength) : sid.generatorForSidClass(cls.sidClassId).next(1)[0];
  options.gtin = CTX.gtin;
  if (cls.requiredAIs.includes("10")) options.lot = CTX.lot;
  if (cls.requiredAIs.includes("17")) options.expiry = CTX.expiry;
  if (cls.requiredAIs.includes("713")) options.nhrn = CTX.nhrn;
  if (cls.requiredAIs.includes("91")) options.properties = { "91": "EE06", "92": CRYPTO_92 };
  return { serialNumber, options };
}

describe("label data", function () {
  it("decoding our DataMatrix payloads with gs1.parse gives back the original AIs, for every SID class", function () {
    const classes = sid.listSidClasses();
    assert.ok(classes.length >= 10);
    for (const cls of classes) {
      const { serialNumber, options } = sample(cls);
      const d = label.labelData(serialNumber, options);
      if (cls.identifierType === "CN-DRUG-TRACE-20") {
        assert.equal(d.ais, null);
        assert.equal(d.nationalCode, serialNumber, cls.sidClassId);
        assert.ok(label.renderZpl("^XA{{code128}}^XZ", d).includes(`^FD${serialNumber}^FS`));
        continue;
      }
      const want = d.ais as gs1.AiValue[];
      assert.equal(cls.checkIdentifier(want), null, `${cls.sidClassId}: ${cls.checkIdentifier(want)}`);
      // the three carriers of the same data: what bwip-js encodes, what the ZPL ^FD sends, and the element string
      const fromSymbol = d.symbolText.replace(/^\^FNC1/, "").split("^FNC1").join(gs1.GS);
      const fromZpl = label.elementStringFromZplData(d.zplData);
      assert.deepEqual(gs1.parse(fromSymbol), want, cls.sidClassId);
      assert.deepEqual(gs1.parse(fromZpl), want, cls.sidClassId);
      assert.deepEqual(gs1.parse("]d2" + (d.elementString as string)), want, cls.sidClassId);
      assert.deepEqual(gs1.parse(d.bracketed as string), want, cls.sidClassId);
      assert.equal(want.find((a) => a.ai === "21" || a.ai === "00")?.value, serialNumber, cls.sidClassId);
      // the Digital Link carries the key and its qualifiers (the crypto tail as data attributes, when allowed)
      const dl = gs1.parse(d.digitalLink as string);
      assert.deepEqual(dl[0], want[0], cls.sidClassId);
    }
  });

  it("a Russian code: GS after the AI 21 and AI 91 values in the element string and in the ZPL, no crypto tail in the HRI", function () {
    const d = label.labelData("Ab3De6Gh9Jk2M", { sidClass: "RU-CHESTNY-ZNAK", gtin: GTIN, properties: { "91": "EE06", "92": CRYPTO_92 } });
    assert.equal(d.elementString, `01${GTIN}21Ab3De6Gh9Jk2M${gs1.GS}91EE06${gs1.GS}92${CRYPTO_92}`);
    assert.equal(d.nationalCode, d.elementString);
    const zpl = label.renderZpl(label.DEFAULT_TEMPLATE, d);
    assert.ok(zpl.includes(`^BXN,6,200,0,0,,~^FH\\^FD\\7E101${GTIN}21Ab3De6Gh9Jk2M\\1D91EE06\\1D92${CRYPTO_92}^FS`), zpl);
    assert.deepEqual(d.hri, [`(01) ${GTIN}`, "(21) Ab3De6Gh9Jk2M"]);
    assert.ok(!zpl.includes("(92)"));
  });

  it("EU pack: predefined-length AIs first, one GS (after the lot), HRI lines and the Digital Link with expiry as attribute", function () {
    const d = label.labelData("X7Y8Z9AB12", { sidClass: "EU-FMD", gtin: "09506000134352", lot: "L123", expiry: "261231" });
    assert.equal(d.elementString, `01095060001343521726123110L123${gs1.GS}21X7Y8Z9AB12`);
    assert.deepEqual(d.hri, ["(01) 09506000134352", "(17) 261231", "(10) L123", "(21) X7Y8Z9AB12"]);
    assert.equal(d.digitalLink, "https://id.gs1.org/01/09506000134352/10/L123/21/X7Y8Z9AB12?17=261231");
    const zpl = label.renderZpl("^XA^FO10,10^FD{{hri1}} / {{lot}} / {{expiry}} / {{customer}}^FS^XZ", d, { customer: "ACME" });
    assert.equal(zpl, "^XA^FO10,10^FD(01) 09506000134352 / L123 / 261231 / ACME^FS^XZ");
  });

  it("a collection renders every label, with each label's own properties", function () {
    const out = label.renderCollection(
      { id: "LC-1", labels: [{ id: "S1", properties: { station: "L1" } }, { id: "S2", properties: { station: "L2" } }] },
      { sidClass: "US-DSCSA", gtin: "00614141123452", lot: "A", expiry: "270101", template: "^XA^FD{{serial}}@{{station}}^FS{{dataMatrix}}^XZ" },
    );
    assert.deepEqual(out.map((o) => o.zpl.slice(0, 16)), ["^XA^FDS1@L1^FS^B", "^XA^FDS2@L2^FS^B"]);
  });

  it("a PNG and an SVG preview of the symbol; a fixed size changes the symbol", async function () {
    const d = label.labelData("X7Y8Z9AB12", { sidClass: "EU-FMD", gtin: "09506000134352", lot: "L123", expiry: "261231" });
    const png = await label.previewPng(d, { scale: 2 });
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const auto = label.previewSvg(d);
    const big = label.previewSvg(label.labelData("X7Y8Z9AB12", { sidClass: "EU-FMD", gtin: "09506000134352", lot: "L123", expiry: "261231", symbolSize: "40x40" }));
    assert.match(auto, /^<svg /);
    assert.notEqual(auto, big);
    assert.ok(label.renderZpl("^XA{{dataMatrix}}^XZ", label.labelData("X7Y8Z9AB12", { sidClass: "EU-FMD", gtin: "09506000134352", lot: "L123", expiry: "261231", symbolSize: "40x40" })).includes("^BXN,6,200,40,40,,~"));
  });

  describe("bad input gets a specific error, nothing half-made", function () {
    const ru = { sidClass: "RU-CHESTNY-ZNAK", gtin: GTIN, properties: { "91": "EE06", "92": CRYPTO_92 } };
    const code = (fn: () => unknown, c: label.LabelErrorCode, re?: RegExp) =>
      assert.throws(fn, (err: label.LabelError) => err instanceof label.LabelError && err.code === c && (!re || re.test(err.message)));
    it("a template with an unknown field", function () {
      const d = label.labelData("Ab3De6Gh9Jk2M", ru);
      code(() => label.renderZpl("^XA^FD{{gtin}} {{batchNo}}^FS^XZ", d), "UnknownTemplateField", /\{\{batchNo\}\}/);
      code(() => label.renderCollection({ serialNumbers: ["Ab3De6Gh9Jk2M"] }, { ...ru, template: "^XA{{nope}}^XZ" }), "UnknownTemplateField");
    });
    it("data too long for the chosen symbol size", function () {
      code(() => label.labelData("Ab3De6Gh9Jk2M", { ...ru, symbolSize: "20x20" }), "DataTooLongForSymbol", /20x20/);
    });
    it("a size that DataMatrix does not have", function () {
      code(() => label.labelData("Ab3De6Gh9Jk2M", { ...ru, symbolSize: "30x30" }), "BadSymbolSize");
    });
    it("identifiers that break their SID class", function () {
      code(() => label.labelData("Ab3De6Gh9Jk2", ru), "BadIdentifier", /13/); // 12 characters
      code(() => label.labelData("Ab3De6Gh9Jk2M", { ...ru, properties: { "91": "EE06" } }), "BadIdentifier", /92/);
      code(() => label.labelData(`01${GTIN}21Ab3De6Gh9Jk2M${gs1.GS}92${CRYPTO_92}${gs1.GS}91EE06`, { sidClass: "RU-CHESTNY-ZNAK" }), "BadIdentifier", /order/);
      code(() => label.labelData("12345", { sidClass: "CN-NMPA" }), "BadIdentifier");
    });
    it("a field value that would break the ZPL", function () {
      const d = label.labelData("Ab3De6Gh9Jk2M", ru);
      code(() => label.renderZpl("^XA^FD{{note}}^FS^XZ", d, { note: "a^XZ" }), "BadFieldValue");
    });
    it("a stored full code is used as it is", function () {
      const d = label.labelData(`01${GTIN}21Ab3De6Gh9Jk2M${gs1.GS}91EE06${gs1.GS}92${CRYPTO_92}`, { sidClass: "RU-CHESTNY-ZNAK" });
      assert.equal(gs1.valueOf(d.ais as gs1.AiValue[], "92"), CRYPTO_92);
    });
  });
});
