/* Label data: for each serial number of a label collection, the GS1 element string, HRI lines, Digital Link URI,
   the market's own code (China's 20 digits, the EAEU code with its crypto tail), a ZPL label from an editable
   template with a GS1 DataMatrix for a Zebra-compatible printer, and an SVG/PNG preview (bwip-js). No Node-RED here. */
import bwipjs from "bwip-js";
import * as gs1 from "../gs1";
import * as sid from "../sid";

type AiValue = gs1.AiValue;

export type LabelErrorCode =
  | "BadInput"
  | "UnknownTemplateField" // a {{field}} the label data does not have
  | "BadFieldValue" // a value that would break the ZPL (^ or ~) or is not text
  | "BadIdentifier" // the serial number or its code breaks its SID class
  | "BadSymbolSize" // not a DataMatrix ECC 200 size
  | "DataTooLongForSymbol"; // the data does not fit the chosen symbol size

export class LabelError extends Error {
  readonly code: LabelErrorCode;
  readonly serialNumber?: string;
  readonly field?: string;
  constructor(code: LabelErrorCode, message: string, extra: { serialNumber?: string; field?: string } = {}) {
    super(message);
    this.name = "LabelError";
    this.code = code;
    if (extra.serialNumber !== undefined) this.serialNumber = extra.serialNumber;
    if (extra.field !== undefined) this.field = extra.field;
  }
}

/** DataMatrix ECC 200 sizes (ISO/IEC 16022): square and rectangular, rows x columns. */
export const SYMBOL_SIZES: readonly string[] = [
  ...[10, 12, 14, 16, 18, 20, 22, 24, 26, 32, 36, 40, 44, 48, 52, 64, 72, 80, 88, 96, 104, 120, 132, 144].map((n) => `${n}x${n}`),
  "8x18", "8x32", "12x26", "12x36", "16x36", "16x48",
];

export interface LabelOptions {
  /** the SID class of the serial numbers (sid.listSidClasses()), e.g. "EU-FMD", "RU-CHESTNY-ZNAK", "CN-NMPA" */
  sidClass: string;
  /** GTIN, lot, expiry (YYMMDD) and further AIs (e.g. 91/92) for serial numbers stored without them */
  gtin?: string;
  lot?: string;
  expiry?: string;
  nhrn?: string;
  properties?: Record<string, string>;
  /** Digital Link domain (default https://id.gs1.org) */
  digitalLinkDomain?: string;
  /** DataMatrix size "RxC" (e.g. "32x32"), or "auto" (default): the smallest that fits */
  symbolSize?: string;
  /** ZPL module size in dots (default 6) */
  moduleDots?: number;
}

export interface LabelData {
  /** the serial number as given */
  serialNumber: string;
  sidClass: string;
  /** the identifier's AIs, in carrier order; null for a non-GS1 class (China's 20-digit code) */
  ais: AiValue[] | null;
  /** the GS1 element string as encoded after the leading FNC1: GS (ASCII 29) after each variable-length value that is not last */
  elementString: string | null;
  /** (01)09506000134352(17)261231(10)AB1(21)X */
  bracketed: string | null;
  /** human-readable lines, "(01) 09506000134352"; the EAEU crypto tail (91/92/93) is not printed */
  hri: string[];
  digitalLink: string | null;
  /** the market's own code where one applies: China's 20 digits; the EAEU code with its crypto tail and GS separators */
  nationalCode: string | null;
  /** what goes into the DataMatrix, for bwip-js (parsefnc: ^FNC1 first and as separator) */
  symbolText: string;
  /** ZPL field data for ^FH\^FD: \7E1 = FNC1 first (the ^BX escape "~1"), \1D = GS */
  zplData: string;
  /** the DataMatrix size used ("auto" or RxC) */
  symbolSize: string;
}

const CRYPTO_AIS = new Set(["91", "92", "93"]);

function checkSize(size: string): void {
  if (size !== "auto" && !SYMBOL_SIZES.includes(size)) throw new LabelError("BadSymbolSize", `symbol size ${JSON.stringify(size)} is not a DataMatrix ECC 200 size (${SYMBOL_SIZES.join(", ")}, or "auto")`);
}

/** The identifier of one serial number: a GS1 code as stored (element string, bracketed, Digital Link) or a serial built into one by its SID class. */
function identifierAis(serialNumber: string, cls: sid.SidClass, o: LabelOptions): AiValue[] {
  // a bare serial may itself start with "(" (GS1 set 82): only "(NN)" opens bracketed GS1 data
  const looksGs1 = /^(\([0-9]{2,4}\)|\][A-Za-z][0-9]|https?:\/\/)/.test(serialNumber) || serialNumber.includes(gs1.GS) || /^01[0-9]{14}21/.test(serialNumber);
  if (looksGs1) {
    const v = gs1.validate(serialNumber);
    if (!v.valid) throw new LabelError("BadIdentifier", `serial number ${JSON.stringify(serialNumber)}: ${v.errors[0].message}`, { serialNumber });
    const why = cls.checkIdentifier(v.ais);
    if (why) throw new LabelError("BadIdentifier", `serial number ${JSON.stringify(serialNumber)} breaks ${cls.sidClassId}: ${why}`, { serialNumber });
    return v.ais;
  }
  const ctx: sid.IdentifierContext = {};
  if (o.gtin !== undefined) ctx.gtin = o.gtin;
  if (o.lot !== undefined) ctx.lot = o.lot;
  if (o.expiry !== undefined) ctx.expiry = o.expiry;
  if (o.nhrn !== undefined) ctx.nhrn = o.nhrn;
  if (o.properties !== undefined) ctx.properties = o.properties;
  try {
    return cls.buildIdentifier(serialNumber, ctx);
  } catch (err) {
    throw new LabelError("BadIdentifier", `serial number ${JSON.stringify(serialNumber)}: ${(err as Error).message}`, { serialNumber });
  }
}

/** ZPL ^FH escapes: GS as \1D and the three characters ZPL itself would read (\ ^ ~). */
function zplHex(s: string): string {
  return s.replace(/[\u001d\\^~]/g, (c) => "\\" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"));
}

/** The label data of one serial number. */
export function labelData(serialNumber: string, options: LabelOptions): LabelData {
  if (typeof serialNumber !== "string" || serialNumber.length === 0) throw new LabelError("BadInput", `serial number must be a non-empty string, got ${JSON.stringify(serialNumber)}`);
  if (!options || typeof options.sidClass !== "string") throw new LabelError("BadInput", "labelData needs options.sidClass");
  let cls: sid.SidClass;
  try {
    cls = sid.getSidClass(options.sidClass);
  } catch (err) {
    throw new LabelError("BadInput", (err as Error).message);
  }
  const symbolSize = options.symbolSize ?? "auto";
  checkSize(symbolSize);
  let out: LabelData;
  if (cls.identifierType === "CN-DRUG-TRACE-20") {
    const why = cls.checkIdentifier(serialNumber);
    if (why) throw new LabelError("BadIdentifier", `${cls.sidClassId}: ${why}`, { serialNumber });
    out = { serialNumber, sidClass: cls.sidClassId, ais: null, elementString: null, bracketed: null, hri: [serialNumber], digitalLink: null, nationalCode: serialNumber, symbolText: serialNumber, zplData: serialNumber, symbolSize };
  } else {
    const ais = identifierAis(serialNumber, cls, options);
    const elementString = gs1.toElementString(ais);
    const eaeu = ais.some((a) => CRYPTO_AIS.has(a.ai));
    const dlAis = ais.filter((a, i) => i === 0 || ["22", "10", "21", "235"].includes(a.ai) || gs1.getAi(a.ai)?.dlAttr);
    out = {
      serialNumber,
      sidClass: cls.sidClassId,
      ais,
      elementString,
      bracketed: gs1.toBracketed(ais),
      hri: gs1.toHRI(ais.filter((a) => !CRYPTO_AIS.has(a.ai))),
      digitalLink: gs1.toDigitalLink(dlAis, options.digitalLinkDomain),
      nationalCode: eaeu ? elementString : null,
      symbolText: "^FNC1" + elementString.split(gs1.GS).join("^FNC1"),
      zplData: "\\7E1" + zplHex(elementString),
      symbolSize,
    };
  }
  if (symbolSize !== "auto") fits(out, symbolSize);
  return out;
}

function bwipOptions(d: LabelData, size: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const o: Record<string, unknown> = { bcid: "datamatrix", text: d.symbolText, parsefnc: d.ais !== null, ...extra };
  if (size !== "auto") o.version = size;
  return o;
}

/** Throws DataTooLongForSymbol when the data does not fit the size (bwip-js, the barcode engine, decides). */
function fits(d: LabelData, size: string): void {
  try {
    bwipjs.toSVG(bwipOptions(d, size) as unknown as Parameters<typeof bwipjs.toSVG>[0]);
  } catch (err) {
    const msg = String((err as Error).message ?? err);
    if (/NoValidSymbol|length exceeded|too long/i.test(msg)) {
      throw new LabelError("DataTooLongForSymbol", `serial number ${JSON.stringify(d.serialNumber)}: ${d.symbolText.replace(/\^FNC1/g, "").length} characters of data do not fit a ${size} DataMatrix; choose a larger size or "auto"`, { serialNumber: d.serialNumber });
    }
    throw new LabelError("BadInput", `serial number ${JSON.stringify(d.serialNumber)}: the barcode engine refused the data: ${msg}`, { serialNumber: d.serialNumber });
  }
}

/** The label data of every serial number of a label collection (labels' ids, or serialNumbers), in order. */
export function labelCollectionData(
  collection: { id?: string; serialNumbers?: string[]; labels?: Array<{ id: string; properties?: Record<string, string> }> },
  options: LabelOptions,
): LabelData[] {
  const sns = collection?.serialNumbers ?? collection?.labels?.map((l) => l.id);
  if (!Array.isArray(sns) || sns.length === 0) throw new LabelError("BadInput", `label collection ${collection?.id ?? ""} holds no serial numbers (serialNumbers or labels[].id)`);
  return sns.map((sn) => labelData(sn, options));
}

/** The ZPL of the DataMatrix: ^BX ECC 200 with "~" as escape, data through ^FH so FNC1 (~1) comes first and GS is \1D. */
export function zplDataMatrix(d: LabelData, options: { moduleDots?: number } = {}): string {
  const dots = options.moduleDots ?? 6;
  if (!Number.isInteger(dots) || dots < 1 || dots > 100) throw new LabelError("BadInput", `moduleDots must be an integer 1-100, got ${dots}`);
  const [rows, cols] = d.symbolSize === "auto" ? [0, 0] : d.symbolSize.split("x").map(Number);
  // ^BXo,h,s,c,r,f,g: quality 200, columns, rows, format (ignored for 200), escape character "~"
  return `^BXN,${dots},200,${cols},${rows},,~^FH\\^FD${d.zplData}^FS`;
}

/** The default label: HRI lines at the left, the DataMatrix at the right. Edit a copy; {{field}} are the fields of templateFields(). */
export const DEFAULT_TEMPLATE = [
  "^XA",
  "^CI28",
  "^FO30,30^A0N,26,26^FD{{hri1}}^FS",
  "^FO30,65^A0N,26,26^FD{{hri2}}^FS",
  "^FO30,100^A0N,26,26^FD{{hri3}}^FS",
  "^FO30,135^A0N,26,26^FD{{hri4}}^FS",
  "^FO420,30{{dataMatrix}}",
  "^XZ",
].join("\n");

/** The fields a template may use for this label (values as they go into the ZPL). */
export function templateFields(d: LabelData, extra: Record<string, string> = {}, options: { moduleDots?: number } = {}): Record<string, string> {
  const get = (ai: string) => d.ais?.find((a) => a.ai === ai)?.value ?? "";
  const f: Record<string, string> = {
    serialNumber: d.serialNumber,
    gtin: get("01"),
    serial: d.ais ? get("21") || get("00") : d.serialNumber,
    lot: get("10"),
    expiry: get("17"),
    sscc: get("00"),
    hri: d.hri.join("  "),
    bracketed: d.bracketed ?? "",
    digitalLink: d.digitalLink ?? "",
    // GS shown as <GS> so the text can be printed
    elementString: d.elementString?.split(gs1.GS).join("<GS>") ?? "",
    nationalCode: d.nationalCode?.split(gs1.GS).join("<GS>") ?? "",
    dataMatrix: zplDataMatrix(d, options),
    code128: d.ais ? "" : `^BCN,80,Y,N,N^FD${d.serialNumber}^FS`,
    sidClass: d.sidClass,
  };
  for (let i = 1; i <= 6; i++) f[`hri${i}`] = d.hri[i - 1] ?? "";
  for (const [k, v] of Object.entries(extra)) {
    if (typeof v !== "string") throw new LabelError("BadFieldValue", `label field ${k} must be a string`, { field: k });
    if (/[\^~\u0000-\u001f]/.test(v)) throw new LabelError("BadFieldValue", `label field ${k} = ${JSON.stringify(v)} holds ^, ~ or a control character, which would break the ZPL`, { field: k, serialNumber: d.serialNumber });
    if (!(k in f)) f[k] = v;
  }
  return f;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The field names a template uses. */
export function templateFieldNames(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

/** Fill a ZPL template; a {{field}} the label does not have throws UnknownTemplateField before anything is produced. */
export function renderZpl(template: string, d: LabelData, extra: Record<string, string> = {}, options: { moduleDots?: number } = {}): string {
  if (typeof template !== "string" || !template.includes("^XA")) throw new LabelError("BadInput", "a ZPL template is a string holding at least ^XA ... ^XZ");
  const f = templateFields(d, extra, options);
  const unknown = templateFieldNames(template).filter((n) => !(n in f));
  if (unknown.length) {
    throw new LabelError("UnknownTemplateField", `template field${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `{{${u}}}`).join(", ")} unknown; known: ${Object.keys(f).join(", ")}`, { field: unknown[0] });
  }
  return template.replace(PLACEHOLDER, (_, name: string) => f[name]);
}

/** ZPL for every label of a collection, all checked before any is returned. */
export function renderCollection(
  collection: { id?: string; serialNumbers?: string[]; labels?: Array<{ id: string; properties?: Record<string, string> }> },
  options: LabelOptions & { template?: string },
): Array<{ serialNumber: string; zpl: string; data: LabelData }> {
  const data = labelCollectionData(collection, options);
  const props = new Map((collection.labels ?? []).map((l) => [l.id, l.properties ?? {}]));
  return data.map((d) => ({ serialNumber: d.serialNumber, data: d, zpl: renderZpl(options.template ?? DEFAULT_TEMPLATE, d, props.get(d.serialNumber) ?? {}, options) }));
}

/** An SVG preview of the DataMatrix, as the printer will print it. */
export function previewSvg(d: LabelData): string {
  try {
    return bwipjs.toSVG(bwipOptions(d, d.symbolSize) as unknown as Parameters<typeof bwipjs.toSVG>[0]);
  } catch (err) {
    fits(d, d.symbolSize);
    throw err;
  }
}

/** A PNG preview of the DataMatrix (scale = pixels per module). */
export async function previewPng(d: LabelData, options: { scale?: number } = {}): Promise<Buffer> {
  fits(d, d.symbolSize);
  return bwipjs.toBuffer(bwipOptions(d, d.symbolSize, { scale: options.scale ?? 4 }) as unknown as Parameters<typeof bwipjs.toSVG>[0]);
}

/** Read our ZPL field data back into the element string (for checks): \7E1 = FNC1, \hh = that byte. */
export function elementStringFromZplData(zplData: string): string {
  if (!zplData.startsWith("\\7E1")) throw new LabelError("BadInput", "ZPL DataMatrix data does not start with FNC1 (\\7E1)");
  return zplData.slice(4).replace(/\\([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}
