import * as fs from "fs";
import { spawnSync } from "child_process";
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

/** GS1's EPCIS 1.2 XML schema (../shared/reference/epcis/xsd-1.2) through Debian's xmllint, as a function returning
 *  xmllint's complaints about a document or null; null itself, with a printed note, when the XSD or xmllint is absent
 *  (.ci/run installs libxml2-utils). */
export function epcis12XsdValidator(): ((xml: string) => string | null) | null {
  const xsd = sharedFile("reference/epcis/xsd-1.2/EPCglobal-epcis-1_2.xsd");
  const probe = spawnSync("xmllint", ["--version"], { encoding: "utf8" });
  if (!xsd || probe.error) {
    console.log(`      skipped: ${!xsd ? "../shared/reference/epcis/xsd-1.2 is absent" : "xmllint is not installed (Debian: libxml2-utils)"}; EPCIS 1.2 XML is not schema-validated here`);
    return null;
  }
  return (xml) => {
    const r = spawnSync("xmllint", ["--noout", "--nonet", "--schema", xsd, "-"], { input: xml, encoding: "utf8" });
    return r.status === 0 ? null : r.stderr || `xmllint exited with ${r.status}`;
  };
}
