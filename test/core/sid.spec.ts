import assert from "node:assert/strict";
import { createCipheriv, createHash } from "node:crypto";
import { gs1, sid } from "../../nodes/core";
import { randomChars, wasmSimdAvailable, type CharEngine } from "../../nodes/core/sid/random-chars";

const GS = "\u001d";
const sidCode = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof sid.SidError, `expected SidError, got ${String(err)}`);
    return err.code;
  }
  assert.fail("expected a SidError");
};

const GTIN = "04601234567893";
const CRYPTO = sid.createGenerator({ kind: "random", alphabet: gs1.ALNUM + "+/", length: 43 });
const KEY = sid.createGenerator({ kind: "random", alphabet: gs1.ALNUM, length: 4 });
/** An EAEU code as the operator issues it: serial, key (91), crypto code (92). */
function eaeuCode(serial: string): string {
  return `0104601234567893` + `21${serial}${GS}91${KEY.next(1)[0]}${GS}92${CRYPTO.next(1)[0]}=`;
}

describe("sid classes", function () {
  it("lists one class per market, with the OPC UA SIDClass strings filled in", function () {
    const ids = sid.listSidClasses().map((c) => c.sidClassId);
    for (const id of ["GS1-SGTIN", "GS1-SSCC", "EU-FMD", "US-DSCSA", "RU-CHESTNY-ZNAK", "KZ-IS-MPT", "UZ-ASL-BELGISI", "CN-NMPA", "BR-ANVISA", "SA-RSD", "AE-TATMEEN", "TR-ITS", "IN-DGFT", "EG-EDA", "KR-KPIS"]) {
      assert.ok(ids.includes(id), id);
    }
    for (const c of sid.listSidClasses()) {
      for (const k of ["sidClassId", "sidClassOwner", "syntaxSpecification", "allowedCharacterSet", "sidClassDescription", "intendedUse", "market"] as const) {
        assert.ok(typeof c[k] === "string" && c[k].length > 1, `${c.sidClassId}.${k}`);
      }
      assert.ok(c.serialIssuer === "self" || c.serialIssuer === "authority");
    }
    assert.equal(sid.getSidClass("RU-CHESTNY-ZNAK").serialIssuer, "authority");
    assert.equal(sid.getSidClass("CN-NMPA").serialIssuer, "authority");
    assert.equal(sid.getSidClass("BR-ANVISA").uniquenessScope, "holder");
  });

  it("refuses an unknown id with UnknownSidClass naming it and the known ids", function () {
    const err = assert.throws(() => sid.getSidClass("EU-FMDX"), (e: unknown) => e instanceof sid.SidError && e.code === "UnknownSidClass" && /EU-FMDX/.test(e.message) && /EU-FMD,/.test(e.message));
    void err;
  });

  it("checkSerial says precisely why a serial fails", function () {
    const eu = sid.getSidClass("EU-FMD");
    assert.equal(eu.checkSerial("AB12%&"), null);
    assert.match(eu.checkSerial("A".repeat(21)) ?? "", /21 characters, 1 to 20/);
    assert.match(eu.checkSerial("AB C") ?? "", /U\+0020 at position 2/);
    assert.match(eu.checkSerial("AB#") ?? "", /"#" at position 2/);
    assert.match(eu.checkSerial("AB\u00e9") ?? "", /U\+00E9/);
    const ru = sid.getSidClass("RU-CHESTNY-ZNAK");
    assert.equal(ru.checkSerial("AbCdEfGhIjKlM"), null);
    assert.match(ru.checkSerial("AbCdEfGhIjKl") ?? "", /exactly 13/);
    // MDLP's sign_sgtin pattern: GS1 set 82 (operator codes issued before scheme set 1.38 use its special characters)
    assert.equal(ru.checkSerial("AbCd\"%&'()*+,"), null);
    assert.equal(ru.checkSerial("AbC-./:;<=>?_"), null);
    assert.match(ru.checkSerial("AbCdEfGhIjKl#") ?? "", /"#" at position 12/);
    assert.match(ru.checkSerial("AbCdEfGhIjKl ") ?? "", /U\+0020 at position 12/);
    assert.match(sid.getSidClass("BR-ANVISA").checkSerial("123456789012A") ?? "", /"A"/);
    assert.match(sid.getSidClass("CN-NMPA").checkSerial("8123456123456789012") ?? "", /exactly 20/);
    assert.match(sid.getSidClass("GS1-SSCC").checkSerial("106141412345678909") ?? "", /check digit 9 is wrong, expected 8/);
  });

  it("checkIdentifier checks the regulation's AIs, order and lengths", function () {
    const ru = sid.getSidClass("RU-CHESTNY-ZNAK");
    const good = eaeuCode("AbCdEfGhIjKlM");
    assert.equal(ru.checkIdentifier(good), null);
    assert.equal(ru.checkIdentifier("]d2" + good), null);
    const ais = gs1.parse(good);
    assert.match(ru.checkIdentifier([ais[0], ais[1], ais[3], ais[2]]) ?? "", /order \(01\)\(21\)\(91\)\(92\)/);
    assert.match(ru.checkIdentifier([ais[0], ais[1], ais[2]]) ?? "", /requires AI \(92\)/);
    assert.match(ru.checkIdentifier([ais[0], ais[1], ais[2], { ai: "92", value: "A".repeat(43) }]) ?? "", /\(92\) must be 44 characters/);
    assert.match(ru.checkIdentifier(good.replace("893", "894")) ?? "", /^BadCheckDigit/);
    const eu = sid.getSidClass("EU-FMD");
    assert.equal(eu.checkIdentifier("(01)09506000134352(17)261231(10)AB1(21)XYZ"), null);
    assert.match(eu.checkIdentifier("(01)09506000134352(21)XYZ") ?? "", /requires AI \(10\), \(17\)/);
    assert.match(sid.getSidClass("AE-TATMEEN").checkIdentifier("(17)261231(01)09506000134352(10)AB1(21)XYZ") ?? "", /\(01\) first/);
    assert.match(sid.getSidClass("BR-ANVISA").checkIdentifier("(01)09506000134352(713)123(17)261231(10)L(21)1234567890123") ?? "", /\(713\) must be 13 digits/);
    assert.equal(sid.getSidClass("CN-NMPA").checkIdentifier("81234561234567890123"), null);
  });
});

describe("sid generators", function () {
  it("random: every character equally likely (rejection sampling), within the alphabet and length", function () {
    const alphabet = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join(""); // 256 mod 94 = 68: plain modulo would be biased
    const g = sid.createGenerator({ kind: "random", alphabet, length: 47 });
    const counts = new Map<string, number>();
    const serials = g.next(2000);
    for (const s of serials) {
      assert.equal(s.length, 47);
      for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    assert.equal(counts.size, 94);
    const expected = (2000 * 47) / 94;
    const chi2 = [...counts.values()].reduce((s, n) => s + (n - expected) ** 2 / expected, 0);
    // 93 degrees of freedom: 200 is beyond the 1-in-a-million tail; a modulo bias gives several thousand
    assert.ok(chi2 < 200, `chi-square ${chi2.toFixed(1)}`);
    assert.equal(new Set(serials).size, 2000);
  });

  it("random, packed (nextBuffer) in GS1 set 82: only the set's characters, each equally likely, at every position", function () {
    const g = sid.createGenerator({ kind: "random", alphabet: gs1.CSET82, length: 12 });
    const n = 40_000;
    const buf = g.nextBuffer(n);
    assert.equal(buf.length, n * 12);
    // per position: a bias of the 16-byte blocks or of the packing of kept bytes would show at some positions
    const counts = Array.from({ length: 12 }, () => new Map<number, number>());
    for (let i = 0; i < buf.length; i++) {
      assert.ok(gs1.CSET82.includes(String.fromCharCode(buf[i])), `byte ${buf[i]} at ${i} is not in set 82`);
      const m = counts[i % 12];
      m.set(buf[i], (m.get(buf[i]) ?? 0) + 1);
    }
    const expected = n / 82;
    counts.forEach((m, pos) => {
      assert.equal(m.size, 82, `position ${pos}: all 82 characters appear`);
      const chi2 = [...m.values()].reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
      // 81 degrees of freedom: 175 is the 1-in-10^8 tail; dropping the rejection (b % 82 on every byte) gives ~440
      assert.ok(chi2 < 175, `position ${pos}: chi-square ${chi2.toFixed(1)}`);
    });
  });

  it("random characters: both engines give exactly the rejection-sampling result of a fixed byte stream (every byte value)", function () {
    // the reference: byte b < floor(256/k)*k is the character sorted[b % k], any other byte is dropped
    const stream = (seed: string): { source: (b: Uint8Array) => void; taken: () => Buffer } => {
      // AES-128-CTR of zeros under a key made from the seed: a fixed stream with every byte value
      const cipher = createCipheriv("aes-128-ctr", createHash("sha256").update(seed).digest().subarray(0, 16), Buffer.alloc(16));
      const parts: Buffer[] = [];
      const source = (b: Uint8Array): void => {
        const bytes = cipher.update(Buffer.alloc(b.length));
        b.set(bytes);
        parts.push(bytes);
      };
      return { source, taken: () => Buffer.concat(parts) };
    };
    const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join("");
    const alphabets = [gs1.CSET82, gs1.CSET39, gs1.DIGITS, gs1.ALNUM, sid.EU_FMD_SAFE_ALPHABET, "01", "AB", printable, printable.slice(0, 64), "zyx!#%'", printable.replace(/[13579ACEGIKMOQSUWY]/g, "")];
    const engines: CharEngine[] = wasmSimdAvailable() ? ["js", "wasm-simd"] : ["js"];
    for (const alphabet of alphabets) {
      const sorted = [...alphabet].map((c) => c.charCodeAt(0)).sort((a, b) => a - b);
      const accept = Math.floor(256 / sorted.length) * sorted.length;
      for (const engine of engines) {
        for (const lookup of engine === "js" ? [undefined] : (["runs", "table"] as const)) {
          // 300,000 is more than one 256 KiB draw of random bytes
          for (const size of alphabet === gs1.CSET82 || alphabet === "01" ? [1, 31, 4_999, 300_000] : [1, 31, 4_999]) {
            const s = stream(`${alphabet}/${size}`);
            const chars = randomChars(alphabet, { engine, lookup, random: s.source });
            assert.equal(chars.engine, engine);
            const out = new Uint8Array(size + 2);
            chars.fill(out, 1, size + 1);
            const taken = s.taken();
            const want: number[] = [];
            for (const b of taken) if (b < accept && want.length < size) want.push(sorted[b % sorted.length]);
            const label = `${engine}${lookup ? "/" + lookup : ""}, ${JSON.stringify(alphabet)}, ${size}`;
            if (size >= 4_999) assert.equal(new Set(taken).size, 256, `${label}: the stream holds every byte value`);
            assert.equal(out[0], 0, `${label}: nothing written before the range`);
            assert.equal(out[size + 1], 0, `${label}: nothing written after the range`);
            assert.ok(Buffer.from(out.subarray(1, size + 1)).equals(Buffer.from(want)), `${label}: differs from the reference`);
          }
        }
      }
    }
  });

  it("random characters: the default engine is WebAssembly SIMD, and alphabets it cannot take are refused", function () {
    assert.ok(wasmSimdAvailable(), "Node.js 20 and later compile WebAssembly SIMD");
    assert.equal(randomChars(gs1.CSET82).engine, "wasm-simd");
    assert.throws(() => randomChars("A"), RangeError);
    assert.throws(() => randomChars("AA"), RangeError);
    assert.throws(() => randomChars("\u0100B"), RangeError);
    assert.throws(() => randomChars(gs1.CSET82).fill(new Uint8Array(4), 2, 5), RangeError);
  });

  it("random: small spaces still give distinct serials within one call", function () {
    const all = sid.createGenerator({ kind: "random", alphabet: "01", length: 4 }).next(16);
    assert.equal(new Set(all).size, 16);
    assert.equal(sidCode(() => sid.createGenerator({ kind: "random", alphabet: "01", length: 4 }).next(17)), "RangeExhausted");
  });

  it("refuses a random configuration whose guessing probability breaks 1 in 10,000, saying what length would do", function () {
    const err = assert.throws(
      () => sid.createGenerator({ kind: "random", alphabet: gs1.DIGITS, length: 10, intendedVolume: 1_000_000 }),
      (e: unknown) => e instanceof sid.SidError && e.code === "GuessProbabilityTooHigh" && /use length 11/.test(e.message) && /1 in 10,000/.test(e.message),
    );
    void err;
    const ok = sid.createGenerator({ kind: "random", alphabet: gs1.DIGITS, length: 11, intendedVolume: 1_000_000 });
    assert.ok((ok.describe().guessProbability as number) < 1e-4);
    assert.equal(sid.minimumRandomLength(62, 1_000_000), 6); // regulations.md §1.3: 10^6 packs need 6+ of 62 characters
    assert.equal(sidCode(() => sid.generatorForSidClass("EU-FMD", { alphabet: gs1.DIGITS, length: 8, intendedVolume: 100_000 })), "GuessProbabilityTooHigh");
  });

  it("EU FMD's default generator avoids characters scanners and keyboards confuse, and keeps the guess probability under 1/10,000", function () {
    const gen = sid.generatorForSidClass("EU-FMD", { intendedVolume: 1_000_000_000 });
    const d = gen.describe();
    assert.ok((d.guessProbability as number) < 1e-4, `guess probability ${d.guessProbability} for 10^9 packs`);
    const serials = gen.next(20_000);
    const seen = new Set(serials.join(""));
    for (const bad of "0O1IL" + "YZ" + "abcdefghijklmnopqrstuvwxyz" + "!\"%&'()*+,-./:;<=>?_") assert.ok(!seen.has(bad), `no ${JSON.stringify(bad)} in a default EU serial`);
    assert.deepEqual([...seen].sort().join(""), sid.EU_FMD_SAFE_ALPHABET, "every safe symbol is used (the alphabet is not narrower than it says)");
    const eu = sid.getSidClass("EU-FMD");
    for (const s of serials.slice(0, 100)) assert.equal(eu.checkSerial(s), null);
    assert.equal(new Set(serials).size, serials.length, "no repeats");
  });

  it("refuses bad specs with BadGeneratorSpec", function () {
    for (const spec of [
      { kind: "random", alphabet: "A", length: 5 },
      { kind: "random", alphabet: "AAB", length: 5 },
      { kind: "random", alphabet: "AB ", length: 5 },
      { kind: "random", alphabet: "AB", length: 0 },
      { kind: "sequential", start: -1, width: 4 },
      { kind: "sequential", start: 5, width: 4, end: 4 },
      { kind: "sequential", start: 10000, width: 4 },
      { kind: "uuid" },
    ]) {
      assert.equal(sidCode(() => sid.createGenerator(spec as sid.GeneratorSpec)), "BadGeneratorSpec", JSON.stringify(spec));
    }
  });

  it("sequential: zero-padded, bigint-wide, all-or-nothing at the end of the range", function () {
    const g = sid.createGenerator({ kind: "sequential", prefix: "L7-", start: 98, width: 4, end: 101 });
    assert.deepEqual(g.next(2), ["L7-0098", "L7-0099"]);
    assert.equal(sidCode(() => g.next(3)), "RangeExhausted");
    assert.deepEqual(g.next(2), ["L7-0100", "L7-0101"]);
    assert.equal(g.describe().remaining, "0");
    const wide = sid.createGenerator({ kind: "sequential", start: 99999999999999999998n, width: 20 });
    assert.deepEqual(wide.next(2), ["99999999999999999998", "99999999999999999999"]);
  });

  it("generatorForSidClass gives each market its default and refuses what the regulation forbids", function () {
    for (const c of sid.listSidClasses()) {
      if (c.serialIssuer === "authority") {
        const e = assert.throws(() => sid.generatorForSidClass(c.sidClassId), (x: unknown) => x instanceof sid.SidError && x.code === "AuthorityIssued" && /must be imported/.test(x.message));
        void e;
        continue;
      }
      const g = c.identifierType === "SSCC" ? sid.generatorForSidClass(c.sidClassId, { companyPrefix: "0614141", extensionDigit: 3 }) : sid.generatorForSidClass(c.sidClassId, { intendedVolume: 1_000_000 });
      for (const s of g.next(50)) assert.equal(c.checkSerial(s), null, `${c.sidClassId}: ${s}`);
    }
    assert.equal(sid.generatorForSidClass("BR-ANVISA").next(1)[0].length, 13);
    assert.match(sid.generatorForSidClass("BR-ANVISA").next(1)[0], /^[0-9]{13}$/);
    assert.equal(sidCode(() => sid.generatorForSidClass("EU-FMD", { kind: "sequential" })), "RandomisationRequired");
    assert.equal(sidCode(() => sid.generatorForSidClass("BR-ANVISA", { alphabet: "0123456789AB" })), "GeneratorIncompatible");
    assert.equal(sidCode(() => sid.generatorForSidClass("US-DSCSA", { length: 21 })), "GeneratorIncompatible");
    assert.equal(sidCode(() => sid.generatorForSidClass("GS1-SSCC")), "BadGeneratorSpec");
    assert.deepEqual(sid.generatorForSidClass("US-DSCSA", { kind: "sequential", start: 7, length: 6 }).next(1), ["000007"]);
    assert.deepEqual(sid.generatorForSidClass("GS1-SSCC", { companyPrefix: "0614141", extensionDigit: 1, start: 234567890 }).next(1), ["106141412345678908"]);
  });
});

describe("sid imports", function () {
  it("reads a Russian code order byte-exact, with AI 91 key and AI 92 crypto code per serial", function () {
    const codes = ["AbCdEfGhIjKl1", "AbCdEfGhIjKl2", "AbCdEfGhIjKl3"].map(eaeuCode);
    const file = Buffer.from("\ufeff" + codes[0] + "\r\n" + codes[1] + "\n\n" + codes[2] + "\n", "utf8");
    const r = sid.parseImport(file, "RU-CHESTNY-ZNAK");
    assert.deepEqual(r.serials.map((s) => s.serial), ["AbCdEfGhIjKl1", "AbCdEfGhIjKl2", "AbCdEfGhIjKl3"]);
    assert.deepEqual(r.serials.map((s) => s.code), codes);
    assert.deepEqual(r.serials.map((s) => s.line), [1, 2, 4]);
    const parsed = gs1.parse(codes[1]);
    assert.deepEqual(r.serials[1].properties, { "91": parsed[2].value, "92": parsed[3].value });
    assert.equal(r.serials[1].gtin, GTIN);
  });

  it("imports a Russian order whose serials use the special characters of MDLP's sign_sgtin set (GS1 set 82)", function () {
    const serials = ["AbCd\"%&'()*+,", "xY-./:;<=>?_1"];
    const r = sid.parseImport(serials.map(eaeuCode).join("\n") + "\n", "RU-CHESTNY-ZNAK");
    assert.deepEqual(r.serials.map((s) => s.serial), serials);
  });

  it("names the line of a malformed, duplicated or non-ASCII entry", function () {
    const a = eaeuCode("AbCdEfGhIjKl1");
    const cases: Array<[string | Buffer, string, number, RegExp]> = [
      [`${a}\n${eaeuCode("AbCdEfGhIjK")}\n`, "ImportMalformedLine", 2, /line 2: .*exactly 13/],
      [`${a}\n${a.slice(0, -2)}\n`, "ImportMalformedLine", 2, /line 2: .*\(92\) must be 44/],
      [`${a}\n${a}\n`, "ImportDuplicate", 2, /line 2: .*repeats line 1/],
      [Buffer.concat([Buffer.from(a + "\n"), Buffer.from([0x30, 0x31, 0xc3, 0xa9, 0x0a])]), "ImportMalformedLine", 2, /line 2: byte 0xC3 is not ASCII/],
      [`${a}\nAbCdEfGhIjKl2\n`, "ImportMalformedLine", 2, /line 2/],
    ];
    for (const [input, want, line, msg] of cases) {
      const e = assert.throws(() => sid.parseImport(input, "RU-CHESTNY-ZNAK"), (x: unknown) => x instanceof sid.SidError && x.code === want && x.line === line && msg.test(x.message));
      void e;
    }
    // every bad line is named, not only the first
    const all = assert.throws(
      () => sid.parseImport(`${a}\n${eaeuCode("AbCdEfGhIjK")}\n\n${a}\n${a.slice(0, -2)}\n`, "RU-CHESTNY-ZNAK"),
      (x: unknown) =>
        x instanceof sid.SidError &&
        x.code === "ImportMalformedLine" &&
        x.line === 2 &&
        /^3 bad lines: line 2: .*; line 4: serial "AbCdEfGhIjKl1" repeats line 1; line 5: /.test(x.message) &&
        JSON.stringify(x.problems?.map((p) => [p.code, p.line])) === JSON.stringify([["ImportMalformedLine", 2], ["ImportDuplicate", 4], ["ImportMalformedLine", 5]]),
    );
    void all;
    assert.equal(sidCode(() => sid.parseImport("\n\r\n", "KZ-IS-MPT")), "ImportEmpty");
    assert.equal(sidCode(() => sid.parseImport("x", "NOPE")), "UnknownSidClass");
  });

  it("reads a Chinese code package of 20-digit codes with their parts", function () {
    const r = sid.parseImport("81234561234567890123\n81234561234567890124\n", "CN-NMPA");
    assert.deepEqual(r.serials[0].properties, { drugCode: "8123456", serialPart: "123456789", checkPart: "0123" });
    assert.equal(sidCode(() => sid.parseImport("81234561234567890123\n8123456123456789012X\n", "CN-NMPA")), "ImportMalformedLine");
  });

  it("reads plain serial lists and full identifiers for self-issuing classes; Brazil is unique across the holder", function () {
    assert.deepEqual(sid.parseImport("1234567890123\n1234567890124\n", "BR-ANVISA").serials.map((s) => s.serial), ["1234567890123", "1234567890124"]);
    const e = assert.throws(
      () => sid.parseImport("(01)09506000134352(713)1234567890123(17)261231(10)L(21)1234567890123\n(01)80614141123458(713)1234567890123(17)261231(10)L(21)1234567890123\n", "BR-ANVISA"),
      (x: unknown) => x instanceof sid.SidError && x.code === "ImportDuplicate",
    );
    void e;
    const eu = sid.parseImport("(01)09506000134352(17)261231(10)AB1(21)X1\n(01)80614141123458(17)261231(10)AB1(21)X1\n", "EU-FMD");
    assert.deepEqual(eu.serials.map((s) => [s.gtin, s.serial, s.properties["17"]]), [["09506000134352", "X1", "261231"], ["80614141123458", "X1", "261231"]]);
  });
});

describe("round trips over generated identifiers of every SID class", function () {
  const sortAis = (a: gs1.AiValue[]) => [...a].sort((x, y) => x.ai.localeCompare(y.ai));
  for (const c of sid.listSidClasses()) {
    it(`${c.sidClassId}: bracketed, element string, Digital Link${c.identifierType === "CN-DRUG-TRACE-20" ? "" : " and EPC URI"}`, function () {
      if (c.identifierType === "CN-DRUG-TRACE-20") {
        const codes = sid.createGenerator({ kind: "random", alphabet: gs1.DIGITS, length: 20 }).next(20);
        const r = sid.parseImport(codes.join("\n"), c.sidClassId);
        assert.deepEqual(r.serials.map((s) => s.code), codes);
        assert.equal(sidCode(() => c.buildIdentifier(codes[0], {})), "NotGS1");
        return;
      }
      let serials: string[];
      let identifiers: gs1.AiValue[][];
      if (c.serialIssuer === "authority") {
        const r = sid.parseImport(sid.createGenerator({ kind: "random", alphabet: gs1.ALNUM, length: 13 }).next(20).map(eaeuCode).join("\n"), c.sidClassId);
        identifiers = r.serials.map((s) => c.buildIdentifier(s.serial, { gtin: s.gtin, properties: s.properties }));
        serials = r.serials.map((s) => s.serial);
      } else {
        const g = c.identifierType === "SSCC" ? sid.generatorForSidClass(c.sidClassId, { companyPrefix: "0614141", extensionDigit: 1 }) : sid.generatorForSidClass(c.sidClassId);
        serials = g.next(20);
        const ctx = { gtin: "09506000134352", lot: "L(1)/A", expiry: "261200", ...(c.sidClassId === "BR-ANVISA" ? { nhrn: "1234567890123" } : {}) };
        identifiers = serials.map((s) => c.buildIdentifier(s, ctx));
      }
      identifiers.forEach((ais, i) => {
        const bracketed = gs1.toBracketed(ais);
        const es = gs1.toElementString(ais);
        const dl = gs1.toDigitalLink(ais, "https://example.com/dl");
        assert.deepEqual(gs1.parse(bracketed), ais, bracketed);
        assert.deepEqual(gs1.parse(es), ais, JSON.stringify(es));
        assert.deepEqual(sortAis(gs1.parse(dl)), sortAis(ais), dl);
        assert.equal(gs1.toDigitalLink(gs1.parse(dl), "https://example.com/dl"), dl);
        for (const form of [bracketed, es, dl]) assert.equal(c.checkIdentifier(form), null, form);
        const epc = gs1.toEpcUri(ais, 7);
        const back = gs1.fromEpcUri(epc);
        assert.deepEqual(back, ais.filter((e) => e.ai === "01" || e.ai === "21" || e.ai === "00"), epc);
        assert.equal(gs1.valueOf(back, c.identifierType === "SSCC" ? "00" : "21"), serials[i]);
      });
    });
  }
});
