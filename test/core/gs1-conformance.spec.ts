/* GS1 conformance: each test names the rule it checks (GS1 Digital Link standard, GS1 General Specifications,
   EPC Tag Data Standard (TDS), or the GS1 syntax dictionary linter / GS1 Syntax Engine behaviour it follows).
   The cases are our own, written from those rules. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as gs1 from "../../nodes/core/gs1";

const GS = "\u001d";
const SSCC = "106141412345678908";
const GTIN = "09506000134352";

function firstError(text: string, options: gs1.ParseOptions = {}): gs1.GS1Issue | undefined {
  return gs1.validate(text, options).errors[0];
}
function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof gs1.GS1Error, `expected GS1Error, got ${String(err)}`);
    return err.code;
  }
  assert.fail("expected a GS1Error");
}

describe("GS1 Digital Link parsing (GS1 Digital Link standard; GS1 Syntax Engine dl.c)", function () {
  it("the primary key is the rightmost key of the path; what precedes it is the URI stem (DL standard: URI stem; reference: 'stop at rightmost key')", function () {
    assert.deepEqual(gs1.parse(`https://a/00/faux/00/${SSCC}`), [{ ai: "00", value: SSCC }]);
    assert.deepEqual(gs1.parse(`https://example.com/01/${GTIN}/00/${SSCC}`), [{ ai: "00", value: SSCC }]);
    assert.deepEqual(gs1.parse(`https://a/more/stem/01/${GTIN}/21/X`), [{ ai: "01", value: GTIN }, { ai: "21", value: "X" }]);
  });

  it("refuses a trailing slash after the last path element (DL standard URI syntax: the path ends with a value)", function () {
    for (const uri of [`https://id.gs1.org/01/${GTIN}/`, `https://id.gs1.org/01/${GTIN}/21/XYZ/`, `https://id.gs1.org/00/${SSCC}/?17=261231`]) {
      const e = firstError(uri);
      assert.equal(e?.code, "BadDigitalLink", uri);
      assert.match(e!.message, /trailing slash/);
    }
  });

  it("refuses the same AI twice, in path and query or twice in the query (DL standard: each AI once; reference DUPLICATE_AI)", function () {
    assert.equal(firstError(`https://id.gs1.org/01/${GTIN}/10/AB1?10=AB1`)?.code, "DuplicateAI");
    assert.equal(firstError(`https://id.gs1.org/01/${GTIN}?17=261231&17=261231`)?.code, "DuplicateAI");
    assert.equal(firstError(`https://id.gs1.org/01/${GTIN}?17=261231&17=261230`)?.ai, "17");
    assert.equal(firstError(`https://id.gs1.org/01/${GTIN}?01=${GTIN}`)?.code, "DuplicateAI");
  });

  it("refuses a key qualifier given as a query attribute (DL standard: qualifiers are path elements; reference AI_SHOULD_BE_IN_PATH_INFO)", function () {
    const e = firstError(`https://id.gs1.org/01/${GTIN}?10=AB1`);
    assert.equal(e?.code, "DigitalLinkQualifierInQuery");
    assert.equal(e?.ai, "10");
    assert.equal(firstError(`https://id.gs1.org/01/${GTIN}/21/XYZ?10=AB1`)?.code, "DigitalLinkQualifierInQuery");
    // not a qualifier of this key: an ordinary data attribute
    assert.deepEqual(gs1.parse(`https://id.gs1.org/00/${SSCC}?02=${GTIN}&37=5`), [{ ai: "00", value: SSCC }, { ai: "02", value: GTIN }, { ai: "37", value: "5" }]);
    // a qualifier that is not a "?" attribute keeps the attribute error, as the reference checks that first
    assert.equal(firstError(`https://id.gs1.org/01/${GTIN}?21=X`)?.code, "DigitalLinkBadAttribute");
  });

  it("refuses an IPv6 host with a zone identifier, user info and other non-host characters; IPv6, IPv4 and ports are fine (reference dl.c domain rule)", function () {
    assert.equal(firstError("https://[fe80::1%25lo]/01/12312312312333")?.code, "BadDigitalLink");
    assert.match(firstError("https://[fe80::1%25lo]/01/12312312312333")!.message, /zone identifier/);
    assert.equal(firstError("https://user@example.com/01/12312312312333")?.code, "BadDigitalLink");
    assert.equal(firstError(`https://$a/00/${SSCC}`)?.code, "BadDigitalLink");
    for (const host of ["[2001:db8::1]", "192.0.2.1", "a:65535", "xn--fsq.xn--0zwm56d", "a."]) {
      assert.deepEqual(gs1.parse(`https://${host}/01/12312312312333`), [{ ai: "01", value: "12312312312333" }], host);
    }
  });

  it("refuses characters that are not allowed in a URI at all (RFC 3986, as the reference's URI character set)", function () {
    assert.equal(firstError(`https://id.gs1.org/01/${GTIN}/21/A<B`)?.code, "BadDigitalLink");
    assert.equal(firstError(`https://id.gs1.org/01/${GTIN}/21/A%3CB`), undefined);
  });

  it("refuses /gtin/-style convenience alphas by default and reads them when permitted (DL standard 1.1 deprecated them; reference permitConvenienceAlphas off by default)", function () {
    const uri = "https://a/gtin/12312312312333/ser/ABC123";
    assert.equal(firstError(uri)?.code, "DigitalLinkNoPrimaryKey");
    assert.match(firstError(uri)!.message, /permitConvenienceAlphas/);
    assert.deepEqual(gs1.parse(uri, { permitConvenienceAlphas: true }), [{ ai: "01", value: "12312312312333" }, { ai: "21", value: "ABC123" }]);
    assert.deepEqual(gs1.parse(`https://a/sscc/${SSCC}`, { permitConvenienceAlphas: true }), [{ ai: "00", value: SSCC }]);
  });
});

describe("GS1 Digital Link generation (DL standard; GS1 Syntax Engine gs1_generateDLuri)", function () {
  it("never emits an AI twice: a repeat with the same value is written once, another value is refused", function () {
    const dl = gs1.toDigitalLink([{ ai: "01", value: GTIN }, { ai: "21", value: "S1" }, { ai: "17", value: "261231" }, { ai: "01", value: GTIN }, { ai: "17", value: "261231" }]);
    assert.equal(dl, `https://id.gs1.org/01/${GTIN}/21/S1?17=261231`);
    assert.equal(code(() => gs1.toDigitalLink([{ ai: "01", value: GTIN }, { ai: "17", value: "261231" }, { ai: "17", value: "261230" }])), "DuplicateAI");
    assert.equal(code(() => gs1.toDigitalLink([{ ai: "01", value: GTIN }, { ai: "01", value: "09506000134369" }])), "DuplicateAI");
  });

  it("writes attributes of predefined length first, then the others, each in the order given (reference generator order)", function () {
    const dl = gs1.toDigitalLink([{ ai: "01", value: GTIN }, { ai: "30", value: "5" }, { ai: "17", value: "261231" }, { ai: "3103", value: "000250" }]);
    assert.equal(dl, `https://id.gs1.org/01/${GTIN}?17=261231&3103=000250&30=5`);
    assert.equal(gs1.toDigitalLink(gs1.parse(dl)), dl);
  });

  it("percent-encodes every character that is not URI-unreserved (DL standard: set 82 reserved characters are percent-encoded)", function () {
    assert.equal(gs1.toDigitalLink([{ ai: "01", value: GTIN }, { ai: "21", value: "a!'()*,:;+b" }]), `https://id.gs1.org/01/${GTIN}/21/a%21%27%28%29%2A%2C%3A%3B%2Bb`);
  });
});

describe("GS1 element strings (GS1 General Specifications §7.8 FNC1 separator)", function () {
  it("tolerates a trailing FNC1 at the end of the data, after a variable- or a predefined-length AI (reference processAIdata: 'Skip FNC1, even at end')", function () {
    assert.deepEqual(gs1.parse(`]d2010950600013435221ABC${GS}`), [{ ai: "01", value: GTIN }, { ai: "21", value: "ABC" }]);
    assert.deepEqual(gs1.parse(`01${GTIN}17261231${GS}`), [{ ai: "01", value: GTIN }, { ai: "17", value: "261231" }]);
    assert.deepEqual(gs1.parse(`^01${GTIN}21ABC^`), [{ ai: "01", value: GTIN }, { ai: "21", value: "ABC" }]);
    const e = firstError(`01${GTIN}21ABC${GS}${GS}`);
    assert.equal(e?.code, "UnexpectedSeparator");
    assert.equal(e?.position, 22);
  });
});

describe("GS1 syntax dictionary linters", function () {
  const lint = (text: string) => gs1.validate(text, { associations: false }).errors[0];

  it("gcppos1: a GS1 Company Prefix needs at least 4 leading digits (lint_gcppos1, GCP_MIN_LENGTH 4)", function () {
    assert.equal(lint("(8004)123")?.rule, "gcppos1");
    assert.equal(lint("(8004)123A5678")?.rule, "gcppos1");
    assert.equal(lint("(8004)123A5678")?.position, 9);
    assert.equal(lint("(8004)1234"), undefined);
    assert.equal(lint("(8004)1234ABC"), undefined);
    assert.equal(lint("(401)12X")?.rule, "gcppos1");
  });

  it("cset64: base64url with '=' only as padding, at most two, and a padded length a multiple of 3 (lint_cset64)", function () {
    for (const ok of ["ABC", "AB", "AB=", "A==", "abc-_0"]) assert.equal(lint(`(8030)${ok}`), undefined, ok);
    assert.equal(lint("(8030)A=B")?.code, "IllegalCharacter");
    for (const bad of ["ABC=", "AB==", "A===", "ABCD=", "==="]) {
      const e = lint(`(8030)${bad}`);
      assert.equal(e?.rule, "cset64", bad);
      assert.equal(e?.code, "ComponentCheckFailed", bad);
    }
  });

  it("mediatype: AI 7241 takes only the AIDC media type code list, 01-10 and 80-99 (lint_mediatype; GenSpecs AIDC media type values)", function () {
    for (const ok of ["01", "10", "80", "99"]) assert.equal(lint(`(7241)${ok}`), undefined, ok);
    for (const bad of ["00", "11", "50", "79"]) assert.equal(lint(`(7241)${bad}`)?.rule, "mediatype", bad);
  });

  it("iso4217: the current ISO 4217 numeric list, with ZWG 924 and XAD 396 (lint_iso4217)", function () {
    for (const ok of ["978", "840", "924", "925", "396", "999"]) assert.equal(lint(`(3910)${ok}1`), undefined, ok);
    for (const bad of ["000", "001", "995"]) assert.equal(lint(`(3910)${bad}1`)?.rule, "iso4217", bad);
  });

  it("packagetype: the GS1 PackageTypeCode list, including APE and AT (lint_packagetype)", function () {
    for (const ok of ["1A", "APE", "AT", "PX", "X11", "8"]) assert.equal(lint(`(7041)${ok}`), undefined, ok);
    for (const bad of ["ZZZ", "0", "1AA"]) assert.equal(lint(`(7041)${bad}`)?.rule, "packagetype", bad);
  });

  it("importeridx: the importer index is one of - 0-9 A-Z _ a-z, also when it is a parenthesis (lint_importeridx)", function () {
    for (const ok of ["-", "_", "0", "z"]) assert.equal(lint(`(7040)1AB${ok}`), undefined, ok);
    for (const bad of ["\\(", ")", "!", "."]) assert.equal(lint(`(7040)1AB${bad}`)?.rule, "importeridx", bad);
  });

  it("delegated code-list linters refuse a parenthesis their alphabet lacks (lint_iban: A-Z 0-9)", function () {
    assert.equal(lint("(8007)GB82WEST1234569876543\\(")?.rule, "iban");
  });

  it("nozeroprefix: a lone '0' is a zero prefix too (lint_nozeroprefix)", function () {
    assert.equal(lint("(8011)0")?.rule, "nozeroprefix");
    assert.equal(lint("(8011)012")?.rule, "nozeroprefix");
    assert.equal(lint("(8011)10"), undefined);
  });

  it("AI 8030 needs a serialised key: (253), (255), (8003) must carry their serial component (GenSpecs AI 8030; reference validateDigSigRequiresSerialisedKey)", function () {
    const sig = "(8030)ABCD";
    for (const [bare, serialised] of [["(253)9506000134352", "(253)9506000134352S1"], ["(255)9506000134352", "(255)95060001343521"], ["(8003)09506000134352", "(8003)09506000134352A1"]]) {
      const e = firstError(bare + sig);
      assert.equal(e?.code, "MissingRequiredAI", bare);
      assert.equal(e?.ai, bare.slice(1, bare.indexOf(")")), bare);
      assert.equal(firstError(serialised + sig), undefined, serialised);
    }
    assert.equal(firstError(`(01)${GTIN}(21)S1${sig}`), undefined);
    assert.equal(firstError(`(01)${GTIN}${sig}`)?.code, "MissingRequiredAI"); // the dictionary's req=01+21
  });
});

describe("EPC URI <-> GS1 keys, class level (EPC Tag Data Standard)", function () {
  it("writes and reads the class-level forms: urn:epc:idpat:sgtin:CP.IR.* and urn:epc:class:lgtin:CP.IR.LOT (TDS pattern URIs; TDS EPC class URI)", function () {
    const g = [{ ai: "01", value: "80614141123458" }];
    assert.equal(gs1.toEpcClassUri(g, 7), "urn:epc:idpat:sgtin:0614141.812345.*");
    assert.deepEqual(gs1.fromEpcUri("urn:epc:idpat:sgtin:0614141.812345.*"), g);
    const lot = [...g, { ai: "10", value: "L1/2" }];
    assert.equal(gs1.toEpcClassUri(lot, 7), "urn:epc:class:lgtin:0614141.812345.L1%2F2");
    assert.deepEqual(gs1.fromEpcUri("urn:epc:class:lgtin:0614141.812345.L1%2F2"), lot);
    assert.deepEqual(gs1.fromEpcUri("urn:epc:idpat:sgtin:0614141.812345.6789"), [...g, { ai: "21", value: "6789" }]);
    assert.equal(code(() => gs1.fromEpcUri("urn:epc:idpat:sgtin:0614141.*.*")), "EpcUnsupported");
    assert.equal(code(() => gs1.fromEpcUri("urn:epc:idpat:sscc:0614141.*")), "EpcUnsupported");
    assert.equal(gs1.epcToDigitalLink("urn:epc:class:lgtin:0614141.812345.L1"), "https://id.gs1.org/01/80614141123458/10/L1");
    assert.equal(gs1.digitalLinkToEpc("https://id.gs1.org/01/80614141123458/10/L1", 7), "urn:epc:class:lgtin:0614141.812345.L1");
  });

  it("SGLN: (414) [+ (254)] <-> urn:epc:id:sgln:CP.LR.EXT, extension 0 when there is none (TDS SGLN)", function () {
    const gln = "0614141123452";
    assert.equal(gs1.checkDigit("061414112345"), "2");
    assert.equal(gs1.toEpcUri([{ ai: "414", value: gln }], 7), "urn:epc:id:sgln:0614141.12345.0");
    assert.equal(gs1.toEpcUri([{ ai: "414", value: gln }, { ai: "254", value: "400" }], 7), "urn:epc:id:sgln:0614141.12345.400");
    assert.deepEqual(gs1.fromEpcUri("urn:epc:id:sgln:0614141.12345.0"), [{ ai: "414", value: gln }]);
    assert.deepEqual(gs1.fromEpcUri("urn:epc:id:sgln:0614141.12345.400"), [{ ai: "414", value: gln }, { ai: "254", value: "400" }]);
    assert.deepEqual(gs1.fromEpcUri("urn:epc:idpat:sgln:0614141.12345.*"), [{ ai: "414", value: gln }]);
    assert.equal(code(() => gs1.fromEpcUri("urn:epc:id:sgln:0614141.1234.0")), "BadEpcUri");
  });
});

describe("GS1 Company Prefix length table (TDS: the GS1 Company Prefix length; GS1 gcpprefixformatlist.xml)", function () {
  // our own small fixture, in the shape of GS1's published file
  const XML = `<?xml version="1.0" encoding="UTF-8"?>
<GCPPrefixFormatList date="2026-01-01T00:00:00">
  <entry prefix="95" gcpLength="7"/>
  <entry prefix="950600" gcpLength="9"/>
  <entry gcpLength='7' prefix='0614141'/>
  <entry prefix="020" gcpLength="0"/>
</GCPPrefixFormatList>
`;
  let dir = "";
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sf-gcp-"));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads gcpprefixformatlist.xml from a file and takes the longest matching prefix", function () {
    const file = path.join(dir, "gcpprefixformatlist.xml");
    fs.writeFileSync(file, XML);
    const t = gs1.loadGcpPrefixFormatList(file);
    assert.equal(t.size, 4);
    assert.equal(gs1.prefixLength(GTIN, t), 9); // 9506000... matches 950600 (9) before 95 (7)
    assert.equal(gs1.prefixLength("09512345000000", t), 7);
    assert.equal(gs1.prefixLength(SSCC, t), 7);
    assert.equal(gs1.prefixLength("0614141000005", t), 7); // GLN
    assert.equal(gs1.prefixLength({ ai: "414", value: "0614141000005" }, t), 7);
    assert.equal(gs1.prefixLength("614141000036", t), 7); // GTIN-12: UPC prefix normalised with a leading 0
  });

  it("turns a GTIN and an SSCC of company prefixes of different lengths into the right EPCs", function () {
    const t = gs1.parseGcpPrefixFormatList(XML);
    const sgtin = gs1.toEpcUri([{ ai: "01", value: GTIN }, { ai: "21", value: "S1" }], t);
    const sscc = gs1.toEpcUri([{ ai: "00", value: SSCC }], t);
    assert.equal(sgtin, "urn:epc:id:sgtin:950600013.0435.S1");
    assert.equal(sscc, "urn:epc:id:sscc:0614141.1234567890");
    assert.deepEqual(gs1.fromEpcUri(sgtin), [{ ai: "01", value: GTIN }, { ai: "21", value: "S1" }]);
    assert.deepEqual(gs1.fromEpcUri(sscc), [{ ai: "00", value: SSCC }]);
    // a configured table (prefix -> length) works the same
    assert.equal(gs1.toEpcUri([{ ai: "01", value: GTIN }, { ai: "21", value: "S1" }], { "9506000": 7 }), "urn:epc:id:sgtin:9506000.013435.S1");
    assert.equal(gs1.toEpcClassUri([{ ai: "01", value: GTIN }], [{ prefix: "950600", length: 9 }]), "urn:epc:idpat:sgtin:950600013.0435.*");
  });

  it("refuses a key the table does not cover, a length no EPC can carry, and a file that is not the list", function () {
    const t = gs1.parseGcpPrefixFormatList(XML);
    assert.equal(code(() => gs1.prefixLength("04012345000009", t)), "BadCompanyPrefix");
    assert.equal(code(() => gs1.prefixLength("0201234500000", t)), "BadCompanyPrefix"); // gcpLength 0: no GCP
    assert.equal(code(() => gs1.toEpcUri([{ ai: "00", value: "340123450000000000".slice(0, 17) + gs1.checkDigit("34012345000000000") }], t)), "BadCompanyPrefix");
    assert.equal(code(() => gs1.parseGcpPrefixFormatList("<list><entry prefix='1' gcpLength='7'/></list>")), "BadInput");
    assert.equal(code(() => gs1.parseGcpPrefixFormatList("<GCPPrefixFormatList><entry prefix='1'/></GCPPrefixFormatList>")), "BadCompanyPrefix");
    assert.equal(code(() => gs1.prefixTable({ "06A": 7 })), "BadCompanyPrefix");
  });
});
