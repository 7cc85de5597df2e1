/* Just enough ZPL II to act as a printer: split a byte stream into ^XA ... ^XZ labels, read each field's data
   (^FD ... ^FS, with ^FH hexadecimal escapes) and which barcode it feeds (^BX DataMatrix with its escape
   character, so "~1" is FNC1). Layout commands (^FO, ^A, ^CI ...) are accepted and ignored. */
import { SimError } from "./rng";

export const FNC1 = "\u001d";

export interface ZplField {
  /** the field data after ^FH and barcode escapes */
  data: string;
  /** the barcode command the field feeds ("BX" DataMatrix, "BC" Code 128, "BQ" QR ...), or null for text */
  barcode: string | null;
  /** DataMatrix only: the data began with FNC1, i.e. it is GS1 data */
  gs1: boolean;
}

export interface ZplLabel {
  /** the label's ZPL, ^XA to ^XZ */
  zpl: string;
  fields: ZplField[];
  /** the first 2D/1D code of the label: GS1 data as an element string (GS between fields, no leading FNC1) */
  code: string | null;
  gs1: boolean;
}

const HEX = /^[0-9A-Fa-f]{2}$/;

function unhex(data: string, indicator: string): string {
  let out = "";
  for (let i = 0; i < data.length; i++) {
    const ch = data[i];
    if (ch === indicator && HEX.test(data.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(data.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += ch;
  }
  return out;
}

/** Reads one label (the text from ^XA to ^XZ). Throws BadZpl when it is not one. */
export function parseLabel(zpl: string): ZplLabel {
  const start = zpl.indexOf("^XA");
  const end = zpl.lastIndexOf("^XZ");
  if (start < 0 || end < start) throw new SimError("BadZpl", "a ZPL label runs from ^XA to ^XZ; this text has no such pair");
  const body = zpl.slice(start + 3, end);
  const fields: ZplField[] = [];
  let hexIndicator: string | null = null;
  let barcode: string | null = null;
  let escape: string | null = null;
  let i = 0;
  while (i < body.length) {
    const at = body.indexOf("^", i);
    if (at < 0) break;
    const cmd = body.slice(at + 1, at + 3).toUpperCase();
    const next = body.indexOf("^", at + 1);
    const params = body.slice(at + 3, next < 0 ? body.length : next);
    i = next < 0 ? body.length : next;
    if (cmd === "FH") {
      hexIndicator = params.length ? params[0] : "_";
    } else if (cmd === "FO" || cmd === "FT") {
      barcode = null;
      escape = null;
    } else if (cmd[0] === "B" && cmd.length === 2) {
      barcode = cmd;
      // ^BXo,h,s,c,r,f,g: the 7th parameter is the DataMatrix escape character (none when empty)
      escape = cmd === "BX" ? (params.split(",")[6] ?? "") || null : null;
    } else if (cmd === "FD") {
      let data = hexIndicator !== null ? unhex(params, hexIndicator) : params;
      let gs1 = false;
      if (barcode === "BX" && escape) {
        const fnc1 = escape + "1";
        if (data.startsWith(fnc1)) {
          gs1 = true;
          data = data.slice(2);
        }
        data = data.split(fnc1).join(FNC1);
      }
      fields.push({ data, barcode, gs1 });
      hexIndicator = null;
    } else if (cmd === "FS") {
      hexIndicator = null;
    }
  }
  const coded = fields.find((f) => f.barcode !== null);
  return { zpl: zpl.slice(start, end + 3), fields, code: coded ? coded.data : null, gs1: coded ? coded.gs1 : false };
}

/** Every complete label of a ZPL text, in order. */
export function parseZpl(text: string): ZplLabel[] {
  const out: ZplLabel[] = [];
  const stream = new ZplStream();
  for (const raw of stream.push(text)) out.push(parseLabel(raw));
  return out;
}

/**
 * Splits a byte stream (a raw TCP print connection) into labels as they complete. Bytes outside ^XA ... ^XZ
 * are dropped, as a printer does; a label that grows past `maxLabelBytes` without ^XZ is refused.
 */
export class ZplStream {
  private buf = "";
  /** bytes dropped because they were outside any label */
  ignored = 0;
  constructor(private readonly maxLabelBytes = 1_000_000) {}

  /** the raw text of each label completed by this chunk */
  push(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    for (;;) {
      const start = this.buf.indexOf("^XA");
      if (start < 0) {
        // keep a trailing "^" or "^X" that may start the next label
        const keep = this.buf.endsWith("^X") ? 2 : this.buf.endsWith("^") ? 1 : 0;
        this.ignored += this.buf.length - keep;
        this.buf = this.buf.slice(this.buf.length - keep);
        break;
      }
      if (start > 0) {
        this.ignored += start;
        this.buf = this.buf.slice(start);
      }
      const end = this.buf.indexOf("^XZ", 3);
      if (end < 0) {
        if (this.buf.length > this.maxLabelBytes) {
          const n = this.buf.length;
          this.buf = "";
          throw new SimError("LabelTooLarge", `a ZPL label grew past ${this.maxLabelBytes} bytes (${n}) without ^XZ; it was dropped`);
        }
        break;
      }
      out.push(this.buf.slice(0, end + 3));
      this.buf = this.buf.slice(end + 3);
    }
    return out;
  }

  /** what is left unfinished (a label without ^XZ when the connection closed) */
  get pending(): number {
    return this.buf.length;
  }
}
