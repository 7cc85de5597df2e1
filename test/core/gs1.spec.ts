import assert from "node:assert/strict";
import { gs1 } from "../../nodes/core";

const GS = "\u001d";
const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof gs1.GS1Error, `expected GS1Error, got ${String(err)}`);
    return err.code;
  }
  assert.fail("expected a GS1Error");
};

describe("gs1 check digits", function () {
  it("computes the worked examples of the GS1 General Specifications and regulations.md §2.2", function () {
    assert.equal(gs1.checkDigit("0950600013435"), "2");
    assert.equal(gs1.checkDigit("8061414112345"), "8");
    assert.equal(gs1.checkDigit("10614141234567890"), "8");
    assert.equal(gs1.checkDigit("1234567890123"), "1");
    assert.equal(gs1.checkDigit("629104150021"), "3"); // GenSpecs 7.9.1 GTIN-13 example 6291041500213
  });

  it("validates GTIN-8/12/13/14, SSCC-18 and GLN-13 and refuses a wrong digit or length", function () {
    for (const g of ["09506000134352", "80614141123458", "6291041500213", "614141000036", "96385074"]) assert.ok(gs1.isValidGtin(g), g);
    assert.equal(gs1.isValidGtin("09506000134353"), false);
    assert.equal(gs1.isValidGtin("0950600013435"), false); // 13 digits, wrong check for a GTIN-13
    assert.equal(gs1.isValidGtin("0950600013435X"), false);
    assert.ok(gs1.isValidSscc("106141412345678908"));
    assert.equal(gs1.isValidSscc("106141412345678909"), false);
    assert.ok(gs1.isValidGln("0614141000005"));
    assert.equal(gs1.isValidGln("0614141000006"), false);
    assert.equal(code(() => gs1.checkDigit("12a4")), "NotNumeric");
  });

  it("makeSscc builds the example SSCC and refuses what does not fit", function () {
    assert.equal(gs1.makeSscc("0614141", 1, "234567890"), "106141412345678908");
    assert.equal(gs1.makeSscc("0614141", 1, 234567890n), "106141412345678908");
    assert.equal(code(() => gs1.makeSscc("0614141", 1, "1234567890")), "ValueTooLong");
    assert.equal(code(() => gs1.makeSscc("06A4141", 1, "1")), "BadCompanyPrefix");
    assert.equal(code(() => gs1.makeSscc("0614141", 10, "1")), "BadInput");
  });
});

describe("gs1.parse", function () {
  const expected = [
    { ai: "01", value: "09506000134352" },
    { ai: "17", value: "261231" },
    { ai: "10", value: "AB1" },
    { ai: "21", value: "XYZ" },
  ];

  it("reads the bracketed form, element strings with symbology identifiers or FNC1, and Digital Link", function () {
    assert.deepEqual(gs1.parse("(01)09506000134352(17)261231(10)AB1(21)XYZ"), expected);
    for (const prefix of ["", "]d2", "]C1", "]Q3", GS, "^", "]d2" + GS]) {
      assert.deepEqual(gs1.parse(`${prefix}010950600013435217261231` + `10AB1${GS}21XYZ`), expected, JSON.stringify(prefix));
    }
    assert.deepEqual(gs1.parse("^01095060001343521726123110ABC123^2112345").map((e) => e.value), ["09506000134352", "261231", "ABC123", "12345"]);
    assert.deepEqual(gs1.parse("https://id.gs1.org/01/09506000134352/10/AB1/21/XYZ?17=261231"), [expected[0], expected[2], expected[3], expected[1]]);
    assert.deepEqual(gs1.parse("]Q1https://example.com/shop/01/09506000134352/21/XYZ"), [expected[0], expected[3]]);
  });

  it("reads the Russian crypto code with GS after (21) and (91)", function () {
    const crypto = "A".repeat(40) + "b+/=";
    const ais = gs1.parse(`]d20104601234567893` + `21AbCdEfGhIjKlM${GS}91EE06${GS}92${crypto}`);
    assert.deepEqual(ais.map((e) => e.ai), ["01", "21", "91", "92"]);
    assert.equal(ais[3].value, crypto);
  });

  it("accepts expiry day 00 (end of month) and leap days, and refuses impossible dates", function () {
    assert.equal(gs1.parse("(01)09506000134352(17)260200")[1].value, "260200");
    assert.equal(gs1.parse("(01)09506000134352(17)240229")[1].value, "240229");
    for (const d of ["261332", "261232", "250229", "260431", "260015"]) {
      const e = assert.throws(() => gs1.parse(`(01)09506000134352(17)${d}`), (err: unknown) => err instanceof gs1.GS1Error && err.code === "BadDate" && err.ai === "17");
      void e;
    }
    assert.equal(code(() => gs1.parse("(01)09506000134352(7003)2612311260")), "BadTime");
  });

  it("gives every kind of bad input its own GS1Error code, naming the AI and the position", function () {
    const cases: Array<[string, string, string?, number?]> = [
      ["(01)09506000134353", "BadCheckDigit", "01", 17],
      ["(01)09506000134352(21)AB C", "IllegalCharacter", "21", 24],
      ["(01)09506000134352(21)AB#", "IllegalCharacter", "21", 24],
      ["(01)09506000134352(21)AB\u0007", "ControlCharacter", "21", 24],
      ["(01)09506000134352(21)AB\u00e9", "NonAsciiCharacter", "21", 24],
      ["(01)0950600013435A", "NotNumeric", "01", 17],
      ["(01)09506000134352(21)123456789012345678901", "ValueTooLong", "21"],
      ["(01)0950600013435", "ValueTooShort", "01"],
      ["(01)09506000134352(23)12", "UnknownAI", "23"],
      ["01095060001343522112345678901234567890123", "MissingSeparator", "21", 38],
      [`0109506000134352211234${GS}${GS}`, "UnexpectedSeparator", undefined, 23],
      [`0109506000134352172612${GS}21123`, "ValueTooShort", "17", 22],
      ["(01)09506000134352(17)261231(17)261230", "DuplicateAI", "17"],
      ["(21)ABC", "MissingRequiredAI", "21"],
      ["(01)09506000134352(02)09506000134352(37)5", "ExclusiveAIs", "01"],
      ["(01)09506000134352(8001)000012345001", "ValueTooShort", "8001"],
      ["(01)09506000134352(8001)00001234500111", "ComponentCheckFailed", "8001"],
      ["(01)09506000134352(8001)12341234512349", "ComponentCheckFailed", "8001"],
      ["(01)09506000134352(422)999", "ComponentCheckFailed", "422"],
      ["GTIN 09506000134352", "NotGS1Data"],
      ["(1)09506000134352", "BadBracketSyntax"],
      ["]d1ABC", "NotGS1Data"],
      ["", "EmptyInput"],
      ["https://id.gs1.org/01/09506000134352/21", "DigitalLinkTruncated", "21"],
      ["https://id.gs1.org/01", "DigitalLinkTruncated"],
      ["https://id.gs1.org/", "DigitalLinkNoPrimaryKey"],
      ["https://id.gs1.org/01/09506000134352/21/X/10/L", "DigitalLinkBadQualifier", "10"],
      ["https://id.gs1.org/01/09506000134352?21=X", "DigitalLinkBadAttribute", "21"],
      ["https://id.gs1.org/01/09506000134352/21/A%2", "DigitalLinkBadEncoding"],
      ["https://id.gs1.org/01/9506000134352", "DigitalLinkZeroSuppressedGtin", "01"],
      ["HtTps://id.gs1.org/01/09506000134352", "BadDigitalLink"],
    ];
    for (const [text, want, ai, pos] of cases) {
      const r = gs1.validate(text);
      assert.equal(r.valid, false, JSON.stringify(text));
      assert.equal(r.errors[0].code, want, `${JSON.stringify(text)}: ${r.errors[0].message}`);
      if (ai !== undefined) assert.equal(r.errors[0].ai, ai, JSON.stringify(text));
      if (pos !== undefined) assert.equal(r.errors[0].position, pos, JSON.stringify(text));
      if (ai !== undefined) assert.match(r.errors[0].message, new RegExp(`\\(${ai}\\)`));
      assert.equal(code(() => gs1.parse(text)), want);
    }
  });

  it("validate collects several content errors at once", function () {
    const r = gs1.validate("(01)09506000134353(17)261332(21)X");
    assert.equal(r.valid, false);
    assert.deepEqual(r.errors.map((e) => e.code), ["BadCheckDigit", "BadDate"]);
    assert.deepEqual(gs1.validate("(01)09506000134352(21)X"), { valid: true, errors: [], ais: [{ ai: "01", value: "09506000134352" }, { ai: "21", value: "X" }], form: "bracketed" });
  });

  it("checks association rules only when asked", function () {
    assert.deepEqual(gs1.parse("(21)ABC", { associations: false }), [{ ai: "21", value: "ABC" }]);
  });
});

describe("gs1 formatting", function () {
  const ais = [
    { ai: "01", value: "09506000134352" },
    { ai: "17", value: "261231" },
    { ai: "10", value: "ABC123" },
    { ai: "21", value: "12345" },
  ];

  it("writes the General Specifications' example in every form", function () {
    assert.equal(gs1.toBracketed(ais), "(01)09506000134352(17)261231(10)ABC123(21)12345");
    assert.equal(gs1.toElementString(ais), `01095060001343521726123110ABC123${GS}2112345`);
    assert.deepEqual(gs1.toHRI(ais), ["(01) 09506000134352", "(17) 261231", "(10) ABC123", "(21) 12345"]);
    assert.equal(gs1.toHRI(ais, { titles: true })[0], "GTIN (01) 09506000134352");
    assert.equal(gs1.toDigitalLink(ais), "https://id.gs1.org/01/09506000134352/10/ABC123/21/12345?17=261231");
    assert.equal(gs1.toDigitalLink(ais, "example.com/dl/"), "https://example.com/dl/01/09506000134352/10/ABC123/21/12345?17=261231");
  });

  it("puts GS only after variable-length AIs that are not last, including fixed-length AIs without a predefined length", function () {
    const s = gs1.toElementString([{ ai: "01", value: "09506000134352" }, { ai: "7003", value: "2612311200" }, { ai: "17", value: "261231" }]);
    assert.equal(s, `01095060001343527003261231120${"0"}${GS}17261231`);
  });

  it("writes the EPC pure identity URIs of the Tag Data Standard examples and reads them back", function () {
    const sgtin = [{ ai: "01", value: "80614141123458" }, { ai: "21", value: "6789/&%\"!?()" }];
    const uri = "urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()";
    assert.equal(gs1.toEpcUri(sgtin, 7), uri);
    assert.deepEqual(gs1.fromEpcUri(uri), sgtin);
    assert.equal(gs1.toDigitalLink(sgtin), "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29");
    assert.equal(gs1.toEpcUri([{ ai: "00", value: "106141412345678908" }], 7), "urn:epc:id:sscc:0614141.1234567890");
    assert.deepEqual(gs1.fromEpcUri("urn:epc:id:sscc:0614141.1234567890"), [{ ai: "00", value: "106141412345678908" }]);
    assert.equal(code(() => gs1.fromEpcUri("urn:epc:id:sgtin:0614141.81234.1")), "BadEpcUri");
    assert.equal(code(() => gs1.fromEpcUri("urn:epc:id:grai:0614141.12345.400")), "BadEpcUri");
    assert.equal(code(() => gs1.toEpcUri(sgtin, 13)), "BadCompanyPrefix");
    assert.equal(code(() => gs1.toEpcUri([{ ai: "01", value: "80614141123458" }], 7)), "EpcUnsupported");
  });

  it("refuses to format a bad value rather than write a wrong identifier", function () {
    assert.equal(code(() => gs1.toBracketed([{ ai: "01", value: "09506000134353" }])), "BadCheckDigit");
    assert.equal(code(() => gs1.toElementString([{ ai: "21", value: "a b" }])), "IllegalCharacter");
    assert.equal(code(() => gs1.toDigitalLink([{ ai: "10", value: "L1" }])), "DigitalLinkNoPrimaryKey");
    assert.equal(code(() => gs1.toDigitalLink([{ ai: "00", value: "106141412345678908" }, { ai: "21", value: "1" }])), "DigitalLinkBadAttribute");
    assert.equal(code(() => gs1.toHRI([])), "BadInput");
  });

  it("round-trips values with characters that need escaping in each form", function () {
    const tricky = [{ ai: "01", value: "09506000134352" }, { ai: "10", value: "A(B)/&%+?=#".replace("#", "") }, { ai: "21", value: "x\"<>'*,;:" }];
    assert.deepEqual(gs1.parse(gs1.toBracketed(tricky)), tricky);
    assert.deepEqual(gs1.parse(gs1.toElementString(tricky)), tricky);
    assert.deepEqual(gs1.parse(gs1.toDigitalLink(tricky)), tricky);
  });
});
