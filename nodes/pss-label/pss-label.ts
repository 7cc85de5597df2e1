/* pss-label: for each serial number of a label collection, the printer-ready label data: GS1 element string, HRI
   lines, Digital Link, the market's own code, a ZPL label from an editable template with a GS1 DataMatrix (FNC1
   first), and a PNG or SVG preview. Every label is made and checked before any is sent: nothing half-made. */
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { isPlainObject, optionalString, payloadObject, type Dict } from "../common/args";
import { InputError, asNodeError } from "../common/errors";
import { onInput } from "../common/pipeline";
import { labelCollection, serialNumbersOf } from "../common/parse";
import type { PoolConfigNode } from "../common/pool-config";
import * as label from "../core/label";
import * as sid from "../core/sid";

export interface LabelNodeDef extends NodeDef {
  pool?: string;
  /** the SID class; empty: the pool's */
  sidClass?: string;
  gtin?: string;
  lot?: string;
  expiry?: string;
  nhrn?: string;
  /** ZPL with {{field}} placeholders; empty: label.DEFAULT_TEMPLATE */
  template?: string;
  /** fields the template takes from each label's properties (comma separated), known at deploy */
  extraFields?: string;
  symbolSize?: string;
  moduleDots?: number | string;
  digitalLinkDomain?: string;
  preview?: "none" | "svg" | "png";
}

/** The fields every label has (label.templateFields), whatever its SID class. */
export const STANDARD_FIELDS: readonly string[] = Object.keys(
  label.templateFields({ serialNumber: "X", sidClass: "GS1-SGTIN", ais: null, elementString: null, bracketed: null, hri: [], digitalLink: null, nationalCode: null, symbolText: "X", zplData: "X", symbolSize: "auto" }),
);

/** Checks a template against the fields it may use; throws UnknownTemplateField naming each unknown one. */
export function checkTemplate(template: string, extraFields: readonly string[]): void {
  if (!template.includes("^XA")) throw new label.LabelError("BadInput", "a ZPL template is a string holding at least ^XA ... ^XZ");
  const known = new Set([...STANDARD_FIELDS, ...extraFields]);
  const unknown = label.templateFieldNames(template).filter((f) => !known.has(f));
  if (unknown.length) {
    throw new label.LabelError("UnknownTemplateField", `template field${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `{{${u}}}`).join(", ")} unknown; known: ${[...known].join(", ")} (declare label properties under Extra fields)`, { field: unknown[0] });
  }
}

function parseExtraFields(raw: string | undefined): string[] {
  const names = (raw ?? "").split(/[\s,]+/).filter(Boolean);
  for (const n of names) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new label.LabelError("BadInput", `extra field ${JSON.stringify(n)} is not a field name (letters, digits, _)`, { field: n });
  return names;
}

const AI_KEY = /^[0-9]{2,4}$/;

export interface LabelOut {
  serialNumber: string;
  sidClass: string;
  elementString: string | null;
  bracketed: string | null;
  hri: string[];
  digitalLink: string | null;
  nationalCode: string | null;
  zpl: string;
  preview?: string | Buffer;
}

export default function (RED: NodeAPI): void {
  function PssLabelNode(this: Node, config: LabelNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const pool = config.pool ? (RED.nodes.getNode(config.pool) as PoolConfigNode | null) : null;
    const template = config.template && config.template.trim() ? config.template : label.DEFAULT_TEMPLATE;
    const preview = config.preview === "svg" || config.preview === "png" ? config.preview : "none";
    const symbolSize = config.symbolSize && config.symbolSize.trim() ? config.symbolSize.trim() : "auto";
    const moduleDots = config.moduleDots === undefined || config.moduleDots === "" ? 6 : Number(config.moduleDots);
    let extraFields: string[] = [];
    let configError: (Error & { code: string }) | undefined;
    try {
      extraFields = parseExtraFields(config.extraFields);
      checkTemplate(template, extraFields);
      if (symbolSize !== "auto" && !label.SYMBOL_SIZES.includes(symbolSize)) throw new label.LabelError("BadSymbolSize", `symbol size ${JSON.stringify(symbolSize)} is not a DataMatrix ECC 200 size (${label.SYMBOL_SIZES.join(", ")}, or "auto")`);
      if (!Number.isInteger(moduleDots) || moduleDots < 1 || moduleDots > 100) throw new label.LabelError("BadInput", `module size must be 1 to 100 dots, not ${JSON.stringify(config.moduleDots)}`);
      const cls = config.sidClass && config.sidClass.trim() ? config.sidClass.trim() : undefined;
      if (cls) sid.getSidClass(cls);
      else if (!pool) throw new InputError("MissingSidClass", "pss-label needs a SID class: choose one, or a pss-pool whose class it takes");
    } catch (err) {
      configError = asNodeError(err);
      node.error(`pss-label: ${configError.code}: ${configError.message}`);
      node.status({ fill: "red", shape: "ring", text: configError.code });
    }

    onInput(node, {
      what: "pss-label",
      run: async (msg) => {
        if (configError) throw configError;
        const p = payloadObject(msg.payload, false);
        const sidClass = (config.sidClass && config.sidClass.trim()) || pool?.sidClass;
        if (!sidClass) throw new InputError("MissingSidClass", "the pss-pool gives no SID class here: choose one on the node");
        // the label collection's properties (as the encoding node sends them) carry lot and expiry
        let lcProps: Dict = {};
        let perLabel = new Map<string, Dict>();
        if (p.labelCollection !== undefined) {
          const lc = labelCollection(p.labelCollection, "msg.payload.labelCollection").lc;
          lcProps = lc.properties ?? {};
          perLabel = new Map((lc.labels ?? []).map((l) => [l.id, l.properties ?? {}]));
        }
        // ... and so does the context of the event that produced the message (payload.pssEvent of a PSS event node)
        const evCtx: Dict = isPlainObject(p.pssEvent) && isPlainObject(p.pssEvent.context) ? (p.pssEvent.context as Dict) : {};
        const serialNumbers = serialNumbersOf(p);
        const pick = (k: "gtin" | "lot" | "expiry" | "nhrn"): string | undefined => {
          const v = optionalString(p, k, "") || lcProps[k] || (typeof evCtx[k] === "string" ? evCtx[k] : "") || (config[k] ?? "").trim();
          return v === "" ? undefined : v;
        };
        const base: label.LabelOptions = { sidClass, symbolSize };
        for (const k of ["gtin", "lot", "expiry", "nhrn"] as const) {
          const v = pick(k);
          if (v !== undefined) base[k] = v;
        }
        if (config.digitalLinkDomain && config.digitalLinkDomain.trim()) base.digitalLinkDomain = config.digitalLinkDomain.trim();
        let msgProps: Dict = {};
        if (p.properties !== undefined) {
          if (!isPlainObject(p.properties) || Object.values(p.properties).some((v) => typeof v !== "string")) throw new InputError("InvalidArgument", "msg.payload.properties must be an object of string values");
          msgProps = p.properties as Dict;
        }
        // AI data stored with the numbers (an authority's crypto tail 91/92 imported with its codes) goes into the code
        const stored = pool ? ((await pool.getBackend().serialProperties?.(serialNumbers)) ?? {}) : {};
        // every label made and checked first; only then anything is sent
        const labels: LabelOut[] = [];
        for (const sn of serialNumbers) {
          const storedAis = Object.fromEntries(Object.entries(stored[sn] ?? {}).filter(([k]) => AI_KEY.test(k)));
          const props = { ...storedAis, ...msgProps, ...(perLabel.get(sn) ?? {}) };
          const ais: Dict = {};
          const fields: Dict = {};
          for (const [k, v] of Object.entries(props)) (AI_KEY.test(k) ? ais : fields)[k] = v;
          const d = label.labelData(sn, Object.keys(ais).length ? { ...base, properties: ais } : base);
          const out: LabelOut = {
            serialNumber: d.serialNumber,
            sidClass: d.sidClass,
            elementString: d.elementString,
            bracketed: d.bracketed,
            hri: d.hri,
            digitalLink: d.digitalLink,
            nationalCode: d.nationalCode,
            zpl: label.renderZpl(template, d, fields, { moduleDots }),
          };
          if (preview === "svg") out.preview = label.previewSvg(d);
          else if (preview === "png") out.preview = await label.previewPng(d);
          labels.push(out);
        }
        return { sidClass, labels, zpl: labels.map((l) => l.zpl).join("\n") + "\n" };
      },
      ok: (result, msg, send) => {
        msg.payload = result;
        send(msg);
        return { fill: "green", shape: "dot", text: `${RED._("pss-label.status.made", { count: result.labels.length.toLocaleString("en-US") })} · ${result.sidClass}` };
      },
      enrich: (e, raw) => {
        // a label error names the one serial number it was working on: the Catch node gets it in msg.error.cause
        const sn = (raw as { serialNumber?: string }).serialNumber;
        if (sn !== undefined && !Object.prototype.hasOwnProperty.call(e, "details")) {
          Object.defineProperty(e, "details", { value: [{ serialNumber: sn, reason: e.message }], enumerable: false, writable: true });
        }
      },
    });
  }
  RED.nodes.registerType("pss-label", PssLabelNode as never);
}
