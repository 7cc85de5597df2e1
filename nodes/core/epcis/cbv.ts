/* The PSS event -> EPCIS 2.0 mapping, as data, in one place: CBV 2.0 business steps and dispositions where CBV has the
   term, the OPEN-SCS URIs otherwise, and the rules of OPC 30260 Annex A for EPCIS files (docs/epcis.md, Mapping). */
import type { PssEvent } from "../lifecycle";

export type EpcisAction = "ADD" | "OBSERVE" | "DELETE";

export interface EventMapping {
  type: "ObjectEvent" | "AggregationEvent";
  action: EpcisAction;
  bizStep: string;
  disposition: string;
  /** pool and label-phase events: never sent to a regulator unless includeInternal */
  internal: boolean;
}

/** OPEN-SCS vocabulary URIs for steps CBV has no exact term for (§3.4, secondary source). */
export const OPENSCS_BIZSTEP = "http://open-scs.org/bizstep/";
export const OPENSCS_DISP = "http://open-scs.org/disp/";

const os = (step: string, disp: string): { bizStep: string; disposition: string } => ({ bizStep: OPENSCS_BIZSTEP + step, disposition: disp.includes(":") || CBV_DISPOSITIONS.has(disp) ? disp : OPENSCS_DISP + disp });

/** CBV 2.0 business steps (bare JSON-LD terms). */
export const CBV_BIZSTEPS: ReadonlySet<string> = new Set([
  "accepting", "arriving", "assembling", "collecting", "commissioning", "consigning", "creating_class_instance", "cycle_counting",
  "decommissioning", "departing", "destroying", "disassembling", "dispensing", "encoding", "entering_exiting", "holding", "inspecting",
  "installing", "killing", "loading", "other", "packing", "picking", "receiving", "removing", "repackaging", "repairing", "replacing",
  "reserving", "retail_selling", "shipping", "staging_outbound", "stock_taking", "stocking", "storing", "transporting", "unloading",
  "unpacking", "void_shipping", "sensor_reporting", "sampling",
]);

/** CBV 2.0 dispositions (bare JSON-LD terms). */
export const CBV_DISPOSITIONS: ReadonlySet<string> = new Set([
  "active", "container_closed", "damaged", "destroyed", "dispensed", "disposed", "encoded", "expired", "in_progress", "in_transit",
  "inactive", "no_pedigree_match", "non_sellable_other", "partially_dispensed", "recalled", "reserved", "retail_sold", "returned",
  "sellable_accessible", "sellable_not_accessible", "stolen", "unknown", "available", "completeness_verified", "completeness_inferred",
  "conformant", "container_open", "mismatch_instance", "mismatch_class", "mismatch_quantity", "needs_replacement", "non_conformant", "unavailable",
]);

/** CBV business transaction types and source/destination types (bare terms). */
export const CBV_BTT: ReadonlySet<string> = new Set(["bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder", "recadv", "rma", "testprd", "testres", "upevt"]);
export const CBV_SDT: ReadonlySet<string> = new Set(["owning_party", "possessing_party", "location"]);

export const MAPPING: Readonly<Record<PssEvent, EventMapping>> = {
  provisioning: { type: "ObjectEvent", action: "ADD", ...os("provisioning", "unallocated"), internal: true },
  sn_returning: { type: "ObjectEvent", action: "OBSERVE", ...os("sn_returning", "unassigned"), internal: true },
  sn_allocating: { type: "ObjectEvent", action: "OBSERVE", ...os("sn_allocating", "allocated"), internal: true },
  sn_deallocating: { type: "ObjectEvent", action: "OBSERVE", ...os("sn_deallocating", "unallocated"), internal: true },
  sn_invalidating: { type: "ObjectEvent", action: "DELETE", ...os("sn_invalidating", "sn_invalid"), internal: true },
  sn_encoding: { type: "ObjectEvent", action: "ADD", bizStep: "encoding", disposition: "encoded", internal: true },
  label_inspecting: { type: "ObjectEvent", action: "OBSERVE", ...os("label_inspecting", "encoded"), internal: true },
  label_sampling: { type: "ObjectEvent", action: "DELETE", ...os("label_sampling", "label_sampled"), internal: true },
  label_scrapping: { type: "ObjectEvent", action: "DELETE", ...os("label_scrapping", "label_scrapped"), internal: true },
  commissioning: { type: "ObjectEvent", action: "ADD", bizStep: "commissioning", disposition: "active", internal: false },
  // the PSS state after inspecting is Sampled: always sampling (a non-destructive check is label_inspecting)
  inspecting: { type: "ObjectEvent", action: "OBSERVE", bizStep: "sampling", disposition: "non_sellable_other", internal: false },
  shipping: { type: "ObjectEvent", action: "OBSERVE", bizStep: "shipping", disposition: "in_transit", internal: false },
  decommissioning: { type: "ObjectEvent", action: "DELETE", bizStep: "decommissioning", disposition: "inactive", internal: false },
  destroying: { type: "ObjectEvent", action: "DELETE", bizStep: "destroying", disposition: "destroyed", internal: false },
  packing: { type: "AggregationEvent", action: "ADD", bizStep: "packing", disposition: "in_progress", internal: false },
  unpacking: { type: "AggregationEvent", action: "DELETE", bizStep: "unpacking", disposition: "in_progress", internal: false },
};

const KINDS = {
  bizStep: ["urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-", CBV_BIZSTEPS],
  disposition: ["urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-", CBV_DISPOSITIONS],
  btt: ["urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-", CBV_BTT],
  sdt: ["urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-", CBV_SDT],
} as const;

/** The CBV 2.0 web URI of a bare term (used by the event hash), or the value unchanged. */
export function cbvWebUri(kind: keyof typeof KINDS, value: string): string {
  const [prefix, web, terms] = KINDS[kind];
  if (terms.has(value)) return web + value;
  if (value.startsWith(prefix)) return web + value.slice(prefix.length);
  return value;
}

/** The EPCIS 1.2 XML (URN) form of a bare CBV term, or the value unchanged. */
export function cbvUrn(kind: keyof typeof KINDS, value: string): string {
  const [prefix, , terms] = KINDS[kind];
  return terms.has(value) ? prefix + value : value;
}
