/* From the data in a code to the serial number the pool knows: AI (21) of GS1 data, AI (00) of an SSCC,
   or the whole code for a non-GS1 identifier (China's 20 digits). */
import * as gs1 from "../gs1";

export function serialFromCode(code: string, isGs1: boolean): string | null {
  if (!isGs1) return code.length ? code : null;
  const v = gs1.validate(code);
  if (!v.valid) return null;
  return gs1.valueOf(v.ais, "21") ?? gs1.valueOf(v.ais, "00") ?? null;
}
