import * as fs from "fs";
import { sharedFile } from "./paths";

/** The official EPCIS 2.0 JSON schema with format checks (ajv + ajv-formats), as a function returning the errors
 *  of a document or null; null itself, with a printed note, when the schema (../shared) or ajv is absent. */
export function epcisSchemaValidator(): ((doc: unknown) => string | null) | null {
  const file = sharedFile("reference/epcis/EPCIS-JSON-Schema.json");
  let Ajv: any;
  let addFormats: any;
  try {
    Ajv = require("ajv");
    addFormats = require("ajv-formats");
  } catch {
    Ajv = undefined;
  }
  if (!file || !Ajv) {
    console.log("      (EPCIS schema or ajv absent: EPCIS documents are checked for content only)");
    return null;
  }
  const ajv = new (Ajv.default ?? Ajv)({ strict: false, allErrors: true });
  (addFormats.default ?? addFormats)(ajv);
  const validate = ajv.compile(JSON.parse(fs.readFileSync(file, "utf8")));
  return (doc) => (validate(doc) ? null : ajv.errorsText(validate.errors, { separator: "\n" }));
}
