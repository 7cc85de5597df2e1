/* Imported serial number lists: authority code orders (Russia/Kazakhstan/Uzbekistan codes with crypto tails),
   Chinese code packages, or a plain list of serials. Kept byte-exact: we never trim or re-encode a code. */
import * as gs1 from "../gs1";
import { getSidClass, type SidClass } from "./classes";
import { SidError, type ImportProblem } from "./errors";

/** how many bad lines an import lists before it stops reading */
export const MAX_IMPORT_PROBLEMS = 1_000;

export interface ImportedSerial {
  /** the serial number as the pool stores it (AI 21, the SSCC, or the whole Chinese code) */
  serial: string;
  /** the line as given, byte for byte (without its line ending) */
  code: string;
  /** 1-based line number in the file */
  line: number;
  gtin?: string;
  /** the other AIs of the code, by AI: "91" crypto key, "92" crypto code, "10" lot, ...; for China the code's parts */
  properties: Record<string, string>;
}

export interface ImportResult {
  sidClassId: string;
  serials: ImportedSerial[];
}

export interface ImportOptions {
  /** "codes": full identifiers per line; "serials": bare serial numbers; "auto" (default) decides per line */
  format?: "auto" | "codes" | "serials";
  /** called every PROGRESS_LINES lines and at the end with (lines read, lines in the input), increasing */
  onProgress?: (done: number, total: number) => void;
  /** the number of lines before this text in its file (a file read in blocks): line numbers count from there */
  lineOffset?: number;
}

/** how many lines parseImport reads between two onProgress calls */
export const PROGRESS_LINES = 10_000;

/**
 * Read one code or serial per line (LF or CRLF; blank lines and a leading UTF-8 BOM are ignored).
 * Every line is checked against the SID class; bad lines throw one SidError with the code of the first
 * (ImportMalformedLine naming the line and its text, ImportDuplicate naming both lines), `line` the first bad line
 * and `problems` every bad line (up to MAX_IMPORT_PROBLEMS). All or nothing: no partial result.
 */
export function parseImport(input: string | Buffer, sidClassId: string, options: ImportOptions = {}): ImportResult {
  const cls = getSidClass(sidClassId);
  let text: string;
  if (Buffer.isBuffer(input)) {
    let buf = input;
    if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    const bad = buf.findIndex((b) => b >= 0x80);
    if (bad >= 0) {
      const line = countLines(buf.subarray(0, bad));
      throw new SidError("ImportMalformedLine", `line ${line}: byte 0x${buf[bad].toString(16).toUpperCase()} is not ASCII; serial codes are ASCII only`, { sidClassId, line });
    }
    text = buf.toString("latin1");
  } else if (typeof input === "string") {
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    throw new SidError("ImportMalformedLine", "parseImport needs a string or a Buffer", { sidClassId });
  }
  const lines = text.split("\n");
  const serials: ImportedSerial[] = [];
  const seen = new Map<string, number>();
  const format = options.format ?? "auto";
  const onProgress = options.onProgress;
  // every bad line is named (up to MAX_IMPORT_PROBLEMS), not only the first: an order is fixed in one pass
  const problems: ImportProblem[] = [];
  for (let i = 0; i < lines.length && problems.length < MAX_IMPORT_PROBLEMS; i++) {
    if (onProgress && i > 0 && i % PROGRESS_LINES === 0) onProgress(i, lines.length);
    let code = lines[i];
    if (code.endsWith("\r")) code = code.slice(0, -1);
    if (code.length === 0) continue;
    const line = i + 1 + (options.lineOffset ?? 0);
    let rec: ImportedSerial;
    try {
      rec = readLine(cls, code, line, format);
    } catch (err) {
      if (!(err instanceof SidError) || err.code !== "ImportMalformedLine") throw err;
      problems.push({ code: "ImportMalformedLine", line, text: code, message: err.message });
      continue;
    }
    const key = cls.uniquenessScope === "holder" || !rec.gtin ? rec.serial : rec.gtin + " " + rec.serial;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({ code: "ImportDuplicate", line, text: code, message: `line ${line}: serial ${JSON.stringify(rec.serial)} repeats line ${first}` });
      continue;
    }
    seen.set(key, line);
    serials.push(rec);
  }
  if (problems.length) {
    const [p] = problems;
    const n = problems.length;
    const message = n === 1 ? p.message : `${n}${n >= MAX_IMPORT_PROBLEMS ? " or more" : ""} bad lines: ${problems.slice(0, 3).map((x) => x.message).join("; ")}${n > 3 ? ` and ${n - 3} more` : ""}`;
    throw new SidError(p.code, message, { sidClassId, line: p.line, problems });
  }
  if (serials.length === 0) throw new SidError("ImportEmpty", `the import for ${sidClassId} holds no serial numbers`, { sidClassId });
  onProgress?.(lines.length, lines.length);
  return { sidClassId: cls.sidClassId, serials };
}

function countLines(b: Buffer): number {
  let n = 1;
  for (const x of b) if (x === 0x0a) n++;
  return n;
}

/** "line 7: "ABC 1": why": every refused line named by its number and its text (cut at 60 characters). */
function malformed(cls: SidClass, line: number, code: string, why: string): SidError {
  const shown = JSON.stringify(code.length > 60 ? code.slice(0, 60) + "…" : code);
  return new SidError("ImportMalformedLine", `line ${line}: ${shown}: ${why}`, { sidClassId: cls.sidClassId, line });
}

function looksLikeCode(code: string): boolean {
  return /^[(\]^\u001d]/.test(code) || /^https?:\/\//i.test(code) || code.includes("\u001d");
}

function readLine(cls: SidClass, code: string, line: number, format: ImportOptions["format"]): ImportedSerial {
  if (cls.identifierType === "CN-DRUG-TRACE-20") {
    const why = cls.checkIdentifier(code);
    if (why) throw malformed(cls, line, code, why);
    return { serial: code, code, line, properties: { drugCode: code.slice(0, 7), serialPart: code.slice(7, 16), checkPart: code.slice(16) } };
  }
  const serialWhy = format === "codes" ? null : cls.checkSerial(code);
  const asCode = format === "codes" || (format === "auto" && (cls.serialIssuer === "authority" || looksLikeCode(code) || serialWhy !== null));
  if (!asCode) {
    if (serialWhy) throw malformed(cls, line, code, serialWhy);
    return { serial: code, code, line, properties: {} };
  }
  const v = gs1.validate(code);
  if (!v.valid) {
    const gs1Why = `${v.errors[0].code}: ${v.errors[0].message}`;
    // a bare value that fails the class's serial rule: say that first (it was meant as a serial number, not as a code)
    if (format === "auto" && serialWhy && cls.serialIssuer !== "authority" && !looksLikeCode(code)) {
      const why = serialWhy.replace(/^serial number "(?:[^"\\]|\\.)*":? /, ""); // the line's text is named already
      // not GS1 data at all: the serial rule is the whole story; else the line may have been meant as a code too
      throw malformed(cls, line, code, `not a valid ${cls.sidClassId} serial number: ${why}${v.errors[0].code === "NotGS1Data" ? "" : `, nor a GS1 code (${gs1Why})`}`);
    }
    throw malformed(cls, line, code, gs1Why);
  }
  const why = cls.checkIdentifier(v.ais);
  if (why) throw malformed(cls, line, code, why);
  const serialAi = cls.identifierType === "SSCC" ? "00" : "21";
  const rec: ImportedSerial = { serial: gs1.valueOf(v.ais, serialAi) as string, code, line, properties: {} };
  for (const e of v.ais) {
    if (e.ai === "01") rec.gtin = e.value;
    else if (e.ai !== serialAi) rec.properties[e.ai] = e.value;
  }
  return rec;
}
