/* SID classes (OPEN-SCS): one identifier scheme per market, with its owner, syntax, character set and use.
   Facts from each market's own texts, named per class below in `regulation` and `owner` (Delegated Regulation (EU)
   2016/161 Art. 4-5, the DSCSA, Russian Gov. Decree 1556 with CRPT's MDLP schemes, NMPAB/T 1001-1012, ...) and from
   the GS1 General Specifications; where sources disagree we keep to the stricter reading. */
import * as gs1 from "../gs1";
import { SidError } from "./errors";
import type { GeneratorSpec } from "./generators";

type AiValue = gs1.AiValue;

export interface SerialRule {
  /** every character a serial may use */
  alphabet: string;
  minLength: number;
  maxLength: number;
}

/** What a SID class needs to build a full identifier around a serial number. */
export interface IdentifierContext {
  gtin?: string;
  lot?: string;
  /** YYMMDD */
  expiry?: string;
  /** Brazil's 13-digit ANVISA registration (AI 713); other national numbers go in properties under their AI (710-717) */
  nhrn?: string;
  /** further AIs, e.g. { "91": key, "92": crypto code } for the EAEU crypto codes */
  properties?: Record<string, string>;
}

export interface SidClass {
  /** OPC 30260 SIDClass properties */
  sidClassId: string;
  sidClassOwner: string;
  syntaxSpecification: string;
  allowedCharacterSet: string;
  sidClassDescription: string;
  intendedUse: string;
  /** ISO 3166 alpha-2 country, "EU", or "GLOBAL" */
  market: string;
  regulation: string;
  /** who issues the serial numbers: ourselves, or the regulator/its operator/a code-issuing organisation */
  serialIssuer: "self" | "authority";
  identifierType: "SGTIN" | "SSCC" | "CN-DRUG-TRACE-20";
  serial: SerialRule;
  /** the regulation requires randomised serial numbers */
  randomisationRequired: boolean;
  /** the largest allowed guessing probability, when the regulation sets one */
  maxGuessProbability?: number;
  /** where a serial must be unique: per product code, or across the holder's whole portfolio (Brazil) */
  uniquenessScope: "product" | "holder";
  /** AIs that a full identifier must carry */
  requiredAIs: string[];
  /** the AI order the carrier must use, when the regulation fixes it */
  fixedOrder?: string[];
  /** the generator this market uses unless told otherwise; null when numbers must be imported */
  defaultGenerator: GeneratorSpec | null;
  /** null when the serial number is valid, else the precise reason */
  checkSerial(serial: string): string | null;
  /** null when the full identifier (any GS1 form, an AI list, or the class's own code) is valid, else why not */
  checkIdentifier(identifier: string | AiValue[]): string | null;
  /** the AI list of a full identifier around a serial (GS1 classes only) */
  buildIdentifier(serial: string, context: IdentifierContext): AiValue[];
}

/* EAEU serials (Russia, Kazakhstan, Uzbekistan) are issued by the operator: we must take every character its codes use.
   MDLP's sign_sgtin pattern allowed GS1 character set 82 for the 13-character serial
   (\x21-\x22 \x25-\x2F \x30-\x39 \x3A-\x3F \x41-\x5A \x5F \x61-\x7A) until scheme set 1.38 narrowed new codes to
   [a-zA-Z0-9]; codes issued before stay in circulation and in authority order files, and schemes 1.34+ are still
   accepted (CRPT release notes of the MDLP scheme sets). Refusing them would make a valid order file fail to import. */
const RU_ALPHABET = gs1.CSET82;

/* EU FMD's default generator: randomised serials that scanners and keyboards do not confuse (EMVO's advice for
   serials people may have to type at a pharmacy): no 0/O or 1/I/L look-alikes, no Y/Z (swapped by QWERTZ keyboard
   emulation of scanners), no lower case and no special characters (remapped by non-US keyboard layouts). 29 symbols
   over 12 characters: 29^12 = 3.5e17 serials, so even 10^9 packs of one product code keep the guessing probability
   (issued / possible, Art. 4(c) of Delegated Regulation (EU) 2016/161) near 3e-9, far under 1/10,000. Serials made
   elsewhere may still use all of set 82 (the serial rule below). */
export const EU_FMD_SAFE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWX";

function checkAgainst(rule: SerialRule, serial: string): string | null {
  if (typeof serial !== "string") return `serial number must be a string, got ${typeof serial}`;
  if (serial.length < rule.minLength || serial.length > rule.maxLength) {
    const want = rule.minLength === rule.maxLength ? `exactly ${rule.minLength}` : `${rule.minLength} to ${rule.maxLength}`;
    return `serial number ${JSON.stringify(serial)} has ${serial.length} characters, ${want} required`;
  }
  for (let i = 0; i < serial.length; i++) {
    if (!rule.alphabet.includes(serial[i])) {
      const cp = serial.codePointAt(i) as number;
      const shown = cp >= 0x21 && cp <= 0x7e ? `"${serial[i]}"` : `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
      return `serial number ${JSON.stringify(serial)}: character ${shown} at position ${i} is not allowed (allowed: ${describeSet(rule.alphabet)})`;
    }
  }
  return null;
}

function describeSet(a: string): string {
  if (a === gs1.CSET82) return "GS1 character set 82";
  if (a === gs1.DIGITS) return "digits 0-9";
  if (a === gs1.ALNUM) return "A-Z, a-z, 0-9";
  return JSON.stringify(a);
}

interface Def {
  id: string;
  owner: string;
  syntax: string;
  description: string;
  use: string;
  market: string;
  regulation: string;
  issuer: "self" | "authority";
  type: SidClass["identifierType"];
  serial: SerialRule;
  random?: boolean;
  maxP?: number;
  scope?: "product" | "holder";
  required: string[];
  order?: string[];
  firstAI?: string;
  /** per-AI value rules beyond the GS1 table: exact length or a pattern */
  aiRules?: Record<string, { pattern: RegExp; text: string }>;
  gen: GeneratorSpec | null;
}

const GS1_SET = "GS1 character set 82 (ISO/IEC 646 subset, GS1 General Specifications fig. 7.11-1)";
const rnd = (alphabet: string, length: number): GeneratorSpec => ({ kind: "random", alphabet, length });
const SGTIN_REQ = ["01", "21", "10", "17"];

const DEFS: Def[] = [
  {
    id: "GS1-SGTIN", owner: "GS1", syntax: "(01) GTIN-14 + (21) serial X..20", market: "GLOBAL", regulation: "GS1 General Specifications",
    description: "GS1 serialised GTIN: GTIN-14 with a serial number of up to 20 characters from GS1 character set 82",
    use: "default for serialised trade items in any market without a specific rule", issuer: "self", type: "SGTIN",
    serial: { alphabet: gs1.CSET82, minLength: 1, maxLength: 20 }, required: ["01", "21"], gen: rnd(gs1.ALNUM, 12),
  },
  {
    id: "GS1-SSCC", owner: "GS1", syntax: "(00) SSCC-18: extension digit + GS1 Company Prefix + serial reference + check digit", market: "GLOBAL", regulation: "GS1 General Specifications",
    description: "Serial Shipping Container Code for logistic units (cases, pallets)", use: "aggregation parents: cases, pallets, shipping units",
    issuer: "self", type: "SSCC", serial: { alphabet: gs1.DIGITS, minLength: 18, maxLength: 18 }, required: ["00"], gen: null,
  },
  {
    id: "EU-FMD", owner: "European Commission (Delegated Regulation (EU) 2016/161), EMVO", syntax: "(01) GTIN or NTIN + (21) serial X..20 randomised + (10) batch + (17) expiry [+ NHRN 710-717]",
    market: "EU", regulation: "Directive 2011/62/EU, Delegated Regulation (EU) 2016/161",
    description: "EU Falsified Medicines Directive unique identifier: product code, randomised serial of up to 20 characters, batch, expiry",
    use: "prescription medicines packs in the EU/EEA; uploaded to the EU Hub before release", issuer: "self", type: "SGTIN",
    serial: { alphabet: gs1.CSET82, minLength: 1, maxLength: 20 }, random: true, maxP: 1 / 10000, required: SGTIN_REQ, gen: rnd(EU_FMD_SAFE_ALPHABET, 12),
  },
  {
    id: "US-DSCSA", owner: "US FDA (FD&C Act §581-582)", syntax: "(01) NDC-based GTIN-14 + (21) serial X..20 + (10) lot + (17) expiry",
    market: "US", regulation: "Drug Supply Chain Security Act", description: "US standardized numerical identifier (NDC + serial up to 20 alphanumeric characters) with lot and expiry",
    use: "prescription drug packages and homogeneous cases in the US", issuer: "self", type: "SGTIN",
    serial: { alphabet: gs1.CSET82, minLength: 1, maxLength: 20 }, required: SGTIN_REQ, gen: rnd(gs1.ALNUM, 12),
  },
  ...["RU", "KZ", "UZ"].map((m): Def => ({
    id: { RU: "RU-CHESTNY-ZNAK", KZ: "KZ-IS-MPT", UZ: "UZ-ASL-BELGISI" }[m] as string,
    owner: { RU: "CRPT (operator of Chestny ZNAK / MDLP)", KZ: "Kazakhtelecom (operator of IS MPT)", UZ: "CRPT Turon (operator of Asl Belgisi)" }[m] as string,
    syntax: "(01) GTIN-14 + (21) serial 13 characters of GS1 set 82 (MDLP sign_sgtin) + GS + (91) key 4 + GS + (92) crypto code 44, in this order",
    market: m,
    regulation: { RU: "Federal Law 425-FZ, Government Decree 1556", KZ: "MoH Order KR DSM-11", UZ: "Presidential Decree 737/2020, CM Resolution 149/2022" }[m] as string,
    description: "EAEU crypto-protected code: GTIN, 13-character serial, 4-character verification key (91) and 44-character crypto code (92), issued by the operator",
    use: "medicine packs; codes ordered from the operator's OMS per production order and reported after use",
    issuer: "authority", type: "SGTIN", serial: { alphabet: RU_ALPHABET, minLength: 13, maxLength: 13 },
    required: ["01", "21", "91", "92"], order: ["01", "21", "91", "92"],
    aiRules: {
      "91": { pattern: /^[\x21-\x7e]{4}$/, text: "4 characters" },
      "92": { pattern: /^[\x21-\x7e]{44}$/, text: "44 characters" },
    },
    gen: null,
  })),
  {
    id: "CN-NMPA", owner: "NMPA; codes issued by a code-issuing organisation chosen by the MAH", syntax: "20 digits: 7-digit drug identification code + 9-digit serial + 4 check digits (Code 128)",
    market: "CN", regulation: "Drug Administration Law 2019, NMPAB/T 1001-1012", description: "Chinese drug traceability code (non-GS1, 20 digits)",
    use: "drug packs in China, every packaging level; parent/child relations reported", issuer: "authority", type: "CN-DRUG-TRACE-20",
    serial: { alphabet: gs1.DIGITS, minLength: 20, maxLength: 20 }, required: [], gen: null,
  },
  {
    id: "BR-ANVISA", owner: "ANVISA (SNCM)", syntax: "(01) GTIN + (713) ANVISA registration 13 digits + (21) serial 13 digits + (17) expiry + (10) lot",
    market: "BR", regulation: "Law 11.903/2009 (13.410/2016), RDC 157/2017, RDC 319/2019 (SNCM suspended 2022)",
    description: "Brazilian IUM: registration number, 13-digit numeric serial unique across all the holder's products, expiry, lot",
    use: "medicine packs in Brazil (dormant profile: SNCM reporting suspended)", issuer: "self", type: "SGTIN",
    serial: { alphabet: gs1.DIGITS, minLength: 13, maxLength: 13 }, scope: "holder", required: ["01", "713", "21", "17", "10"],
    aiRules: { "713": { pattern: /^[0-9]{13}$/, text: "13 digits (ANVISA registration number)" } }, gen: rnd(gs1.DIGITS, 13),
  },
  {
    id: "SA-RSD", owner: "SFDA (Saudi Food and Drug Authority), RSD / DTTS", syntax: "(01) GTIN-14 + (21) serial up to 20 alphanumeric, randomised + (17) YYMMDD + (10) batch",
    market: "SA", regulation: "SFDA Drug Barcoding Specifications v6.x", description: "Saudi RSD unit identifier with randomised alphanumeric serial",
    use: "secondary packs of medicines in Saudi Arabia; cases/pallets by SSCC", issuer: "self", type: "SGTIN",
    serial: { alphabet: gs1.ALNUM, minLength: 1, maxLength: 20 }, random: true, required: SGTIN_REQ, gen: rnd(gs1.ALNUM, 12),
  },
  {
    id: "AE-TATMEEN", owner: "UAE MoHAP (Tatmeen)", syntax: "(01) GTIN-14 first + (21) serial up to 20 alphanumeric, randomised + (17) + (10)",
    market: "AE", regulation: "Ministerial Decree 73/2021", description: "UAE Tatmeen unit identifier with randomised alphanumeric serial, GTIN first",
    use: "secondary packs in the UAE; aggregation mandatory with SSCC", issuer: "self", type: "SGTIN",
    serial: { alphabet: gs1.ALNUM, minLength: 1, maxLength: 20 }, random: true, required: SGTIN_REQ, firstAI: "01", gen: rnd(gs1.ALNUM, 12),
  },
  {
    id: "TR-ITS", owner: "TITCK (Turkish Medicines and Medical Devices Agency), ITS", syntax: "(01) GTIN-14 + (21) serial X..20 + (17) YYMMDD (day 00 = end of month) + (10) batch",
    market: "TR", regulation: "ITS (Ilac Takip Sistemi)", description: "Turkish ITS unit identifier; expiry day 00 allowed",
    use: "medicine packs in Turkey; production notified to ITS before release", issuer: "self", type: "SGTIN",
    serial: { alphabet: gs1.CSET82, minLength: 1, maxLength: 20 }, required: SGTIN_REQ, gen: rnd(gs1.ALNUM, 12),
  },
  {
    id: "IN-DGFT", owner: "DGFT (Directorate General of Foreign Trade), iVEDA portal", syntax: "(01) GTIN-14 + (21) serial X..20 + (10) batch + (17) expiry",
    market: "IN", regulation: "DGFT export track and trace (iVEDA)", description: "India export pack identifier (secondary level; primary optional)",
    use: "exported medicines from India; parent-child data uploaded to iVEDA", issuer: "self", type: "SGTIN",
    serial: { alphabet: gs1.CSET82, minLength: 1, maxLength: 20 }, required: SGTIN_REQ, gen: rnd(gs1.ALNUM, 12),
  },
  {
    id: "EG-EDA", owner: "Egyptian Drug Authority (EPTTS)", syntax: "(01) EDA-registered GTIN + (21) serial X..20, never reused + (10) batch + (17) expiry",
    market: "EG", regulation: "EDA decisions 475/2025, 804/2025", description: "Egyptian EPTTS unit identifier, manufacturer-generated GS1 serial",
    use: "secondary packs in Egypt; aggregation to SSCC", issuer: "self", type: "SGTIN",
    serial: { alphabet: gs1.CSET82, minLength: 1, maxLength: 20 }, required: SGTIN_REQ, gen: rnd(gs1.ALNUM, 12),
  },
  {
    id: "KR-KPIS", owner: "KPIS (Korea Pharmaceutical Information Service), MoHW", syntax: "(01) GTIN-14 from the KD code + (21) serial up to 20 alphanumeric + (17) + (10)",
    market: "KR", regulation: "Pharmaceutical Affairs Act art. 47-2", description: "South Korean drug serial identifier",
    use: "medicine packs in South Korea; supply reports to KPIS", issuer: "self", type: "SGTIN",
    serial: { alphabet: gs1.ALNUM, minLength: 1, maxLength: 20 }, required: SGTIN_REQ, gen: rnd(gs1.ALNUM, 12),
  },
];

function makeClass(d: Def): SidClass {
  const charSet = d.serial.alphabet === gs1.CSET82 ? GS1_SET : describeSet(d.serial.alphabet);
  const cls: SidClass = {
    sidClassId: d.id,
    sidClassOwner: d.owner,
    syntaxSpecification: d.syntax,
    allowedCharacterSet: charSet,
    sidClassDescription: d.description,
    intendedUse: d.use,
    market: d.market,
    regulation: d.regulation,
    serialIssuer: d.issuer,
    identifierType: d.type,
    serial: d.serial,
    randomisationRequired: d.random === true,
    uniquenessScope: d.scope ?? "product",
    requiredAIs: d.required,
    defaultGenerator: d.gen,
    checkSerial: (serial) => {
      const r = checkAgainst(d.serial, serial);
      if (r) return r;
      if (d.type === "SSCC" && !gs1.isValidSscc(serial)) return `SSCC ${serial}: check digit ${serial[17]} is wrong, expected ${gs1.checkDigit(serial.slice(0, 17))}`;
      return null;
    },
    checkIdentifier: (identifier) => checkIdentifier(cls, d, identifier),
    buildIdentifier: (serial, context) => buildIdentifier(cls, d, serial, context),
  };
  if (d.maxP !== undefined) cls.maxGuessProbability = d.maxP;
  if (d.order) cls.fixedOrder = d.order;
  return cls;
}

function checkIdentifier(cls: SidClass, d: Def, identifier: string | AiValue[]): string | null {
  if (d.type === "CN-DRUG-TRACE-20") {
    if (typeof identifier !== "string") return `${d.id} identifiers are 20-digit codes, not GS1 AI lists`;
    // the 4 check digits follow the issuing organisation's algorithm, which is not public: we check the structure only
    return cls.checkSerial(identifier);
  }
  let ais: AiValue[];
  if (typeof identifier === "string") {
    const v = gs1.validate(identifier);
    if (!v.valid) return `${v.errors[0].code}: ${v.errors[0].message}`;
    ais = v.ais;
  } else if (Array.isArray(identifier)) {
    try {
      gs1.toBracketed(identifier); // checks every AI and value
    } catch (err) {
      return `${(err as gs1.GS1Error).code}: ${(err as Error).message}`;
    }
    ais = identifier;
  } else return "identifier must be a string or an array of { ai, value }";
  const present = ais.map((e) => e.ai);
  const missing = d.required.filter((ai) => !present.includes(ai));
  if (missing.length) return `${d.id} requires AI ${missing.map((a) => `(${a})`).join(", ")}, missing from ${present.map((a) => `(${a})`).join("")}`;
  if (d.order) {
    const extra = present.filter((a) => !d.order?.includes(a));
    if (extra.length) return `${d.id} codes carry exactly ${d.order.map((a) => `(${a})`).join("")}; found also ${extra.map((a) => `(${a})`).join("")}`;
    if (present.join(",") !== d.order.join(",")) return `${d.id} requires the AI order ${d.order.map((a) => `(${a})`).join("")}, got ${present.map((a) => `(${a})`).join("")}`;
  }
  if (d.firstAI && present[0] !== d.firstAI) return `${d.id} requires AI (${d.firstAI}) first, got (${present[0]}) first`;
  for (const [ai, rule] of Object.entries(d.aiRules ?? {})) {
    const v = gs1.valueOf(ais, ai);
    if (v !== undefined && !rule.pattern.test(v)) return `${d.id}: AI (${ai}) must be ${rule.text}, got ${JSON.stringify(v)} (${v.length} characters)`;
  }
  const serial = gs1.valueOf(ais, d.type === "SSCC" ? "00" : "21");
  if (serial === undefined) return `${d.id}: no serial number in the identifier`;
  return cls.checkSerial(serial);
}

function buildIdentifier(cls: SidClass, d: Def, serial: string, ctx: IdentifierContext): AiValue[] {
  if (d.type === "CN-DRUG-TRACE-20") throw new SidError("NotGS1", `${d.id} codes are not GS1 AI strings: the 20-digit code is the whole identifier`, { sidClassId: d.id });
  const bad = cls.checkSerial(serial);
  if (bad) throw new SidError("BadSerial", `${d.id}: ${bad}`, { sidClassId: d.id });
  let ais: AiValue[];
  if (d.type === "SSCC") ais = [{ ai: "00", value: serial }];
  else {
    if (!ctx.gtin) throw new SidError("BadSerial", `${d.id}: a GTIN is needed to build the identifier`, { sidClassId: d.id });
    const props = ctx.properties ?? {};
    ais = [{ ai: "01", value: ctx.gtin.length === 14 ? ctx.gtin : gs1.toGtin14(ctx.gtin) }];
    if (d.order) {
      ais.push({ ai: "21", value: serial });
      for (const ai of d.order.slice(2)) if (props[ai] !== undefined) ais.push({ ai, value: props[ai] });
    } else {
      if (ctx.expiry !== undefined) ais.push({ ai: "17", value: ctx.expiry });
      if (ctx.nhrn !== undefined) {
        if (!d.required.includes("713")) throw new SidError("BadSerial", `${d.id}: give a national number in properties under its AI (710-717)`, { sidClassId: d.id });
        ais.push({ ai: "713", value: ctx.nhrn });
      }
      if (ctx.lot !== undefined) ais.push({ ai: "10", value: ctx.lot });
      ais.push({ ai: "21", value: serial });
      for (const [ai, value] of Object.entries(props)) ais.push({ ai, value });
    }
  }
  const why = cls.checkIdentifier(ais);
  if (why) throw new SidError("BadSerial", `${d.id}: ${why}`, { sidClassId: d.id });
  return ais;
}

const CLASSES = new Map<string, SidClass>(DEFS.map((d) => [d.id, makeClass(d)]));

/** The SID class with this id; throws SidError UnknownSidClass listing the known ids. */
export function getSidClass(id: string): SidClass {
  const c = CLASSES.get(id);
  if (!c) throw new SidError("UnknownSidClass", `unknown SID class ${JSON.stringify(id)}; known: ${[...CLASSES.keys()].join(", ")}`, { sidClassId: String(id) });
  return c;
}

/** Every SID class, the generic GS1 ones first. */
export function listSidClasses(): SidClass[] {
  return [...CLASSES.values()];
}
