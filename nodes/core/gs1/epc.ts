/* EPC Pure Identity URIs (GS1 EPC Tag Data Standard) for SGTIN and SSCC. */
import { checkDigit } from "./checkdigit";
import { checkList, type AiValue } from "./element";
import { GS1Error } from "./errors";
import { assertValue } from "./ai";

// TDS table of characters that are percent-escaped in an EPC URI serial
const EPC_ESC: Record<string, string> = { '"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F" };

function checkPrefixLength(n: number): void {
  if (!Number.isInteger(n) || n < 6 || n > 12) throw new GS1Error({ code: "BadCompanyPrefix", message: `GS1 Company Prefix length must be an integer 6-12 for an EPC URI, got ${n}` });
}

/** urn:epc:id:sgtin:… from (01)+(21), or urn:epc:id:sscc:… from (00). The company prefix length is not in the data: give it. */
export function toEpcUri(ais: AiValue[], companyPrefixLength: number): string {
  checkList(ais);
  checkPrefixLength(companyPrefixLength);
  const get = (ai: string) => ais.find((e) => e.ai === ai)?.value;
  const gtin = get("01");
  const serial = get("21");
  const sscc = get("00");
  if (gtin !== undefined && serial !== undefined) {
    const cp = gtin.slice(1, 1 + companyPrefixLength);
    const item = gtin[0] + gtin.slice(1 + companyPrefixLength, 13);
    return `urn:epc:id:sgtin:${cp}.${item}.${serial.replace(/["%&/<>?]/g, (c) => EPC_ESC[c])}`;
  }
  if (sscc !== undefined) {
    const cp = sscc.slice(1, 1 + companyPrefixLength);
    return `urn:epc:id:sscc:${cp}.${sscc[0]}${sscc.slice(1 + companyPrefixLength, 17)}`;
  }
  throw new GS1Error({ code: "EpcUnsupported", message: `an EPC pure identity URI needs (01) with (21) for an SGTIN, or (00) for an SSCC; got ${ais.map((e) => `(${e.ai})`).join("")}` });
}

/** The AIs behind an SGTIN or SSCC EPC pure identity URI, check digit recomputed. */
export function fromEpcUri(uri: string): AiValue[] {
  if (typeof uri !== "string") throw new GS1Error({ code: "BadInput", message: "fromEpcUri needs a string" });
  let m = /^urn:epc:id:sgtin:([0-9]{6,12})\.([0-9]+)\.(.+)$/.exec(uri);
  if (m) {
    const [, cp, item, rawSerial] = m;
    if (cp.length + item.length !== 13) throw new GS1Error({ code: "BadEpcUri", position: 17, message: `${uri}: company prefix and indicator+item reference must total 13 digits, got ${cp.length + item.length}` });
    if (/%(?![0-9A-Fa-f]{2})/.test(rawSerial)) throw new GS1Error({ code: "BadEpcUri", ai: "21", message: `${uri}: bad percent-escape in the serial` });
    let serial: string;
    try {
      serial = decodeURIComponent(rawSerial);
    } catch {
      throw new GS1Error({ code: "BadEpcUri", ai: "21", message: `${uri}: the serial's percent-escapes are not valid UTF-8` });
    }
    const body = item[0] + cp + item.slice(1);
    const gtin = body + checkDigit(body);
    assertValue("21", serial);
    return [{ ai: "01", value: gtin }, { ai: "21", value: serial }];
  }
  m = /^urn:epc:id:sscc:([0-9]{6,12})\.([0-9]+)$/.exec(uri);
  if (m) {
    const [, cp, ref] = m;
    if (cp.length + ref.length !== 17) throw new GS1Error({ code: "BadEpcUri", position: 16, message: `${uri}: company prefix and extension+serial reference must total 17 digits, got ${cp.length + ref.length}` });
    const body = ref[0] + cp + ref.slice(1);
    return [{ ai: "00", value: body + checkDigit(body) }];
  }
  throw new GS1Error({ code: "BadEpcUri", position: 0, message: `${JSON.stringify(uri.slice(0, 80))} is not an SGTIN or SSCC EPC pure identity URI (urn:epc:id:sgtin:CP.IR.SER or urn:epc:id:sscc:CP.SR)` });
}
