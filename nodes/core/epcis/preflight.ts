/* Pre-flight checks before a document leaves: each check names the serial numbers at fault, and any fault
   blocks the document (EpcisError PreflightFailed). Incremental, so the streaming writer can run it as it goes. */
import * as sid from "../sid";
import { sourceOf, type EpcisEvent } from "./build";
import { EpcisError, listSome, type PreflightFault } from "./errors";
import { isSscc, serialOfUri } from "./ids";

export interface PreflightOptions {
  /** market (ISO country, "EU") or SID class id: decides whether lot and expiry are required at commissioning */
  market?: string;
  /** override the market's rule on lot and expiry */
  requireLotExpiry?: boolean;
  /** parents (SSCCs) must be commissioned before they are packed into (OPEN-SCS annex A.4); default true */
  requireParentCommissioned?: boolean;
  /** events before the document's period: they build the state (commissioned, packed, destroyed) but are not checked */
  priorEvents?: Iterable<EpcisEvent>;
}

/** Does the market's SID class want batch/lot (10) and expiry (17) in the identifier? */
export function marketNeedsLotExpiry(market: string): boolean {
  const classes = sid.listSidClasses().filter((c) => c.market === market || c.sidClassId === market);
  if (classes.length === 0) throw new EpcisError("BadOption", `unknown market or SID class ${JSON.stringify(market)} (markets: ${[...new Set(sid.listSidClasses().map((c) => c.market))].join(", ")})`);
  return classes.some((c) => c.requiredAIs.includes("10") && c.requiredAIs.includes("17"));
}

export class Preflight {
  private readonly commissioned = new Set<string>();
  private readonly destroyed = new Set<string>();
  private readonly inactive = new Set<string>();
  private readonly parentOf = new Map<string, string>();
  private readonly children = new Map<string, Set<string>>();
  private readonly found: PreflightFault[] = [];
  private readonly needLotExpiry: boolean;
  private readonly needParent: boolean;
  private index = 0;
  private recording = true;

  constructor(options: PreflightOptions = {}) {
    this.needLotExpiry = options.requireLotExpiry ?? (options.market ? marketNeedsLotExpiry(options.market) : false);
    this.needParent = options.requireParentCommissioned ?? true;
    if (options.priorEvents) {
      this.recording = false;
      for (const ev of options.priorEvents) this.check(ev);
      this.recording = true;
      this.index = 0;
    }
  }

  private fault(check: PreflightFault["check"], ids: string[], why: string): void {
    if (!this.recording || ids.length === 0) return;
    const serialNumbers = ids.map(serialOfUri);
    const src = this.currentSeq === undefined ? "" : ` (audit record ${this.currentSeq})`;
    this.found.push({ check, identifiers: ids, serialNumbers, eventIndex: this.index, message: `event ${this.index}${src}: ${why}: ${listSome(serialNumbers)}` });
  }

  private currentSeq: number | undefined;

  /** Check one event, in document order, and update the state. */
  check(ev: EpcisEvent): void {
    this.currentSeq = sourceOf(ev)?.seq;
    const all = [...(ev.epcList ?? []), ...(ev.parentID ? [ev.parentID] : []), ...(ev.childEPCs ?? [])];
    this.fault("EventAfterDestroyed", all.filter((id) => this.destroyed.has(id)), `${ev.bizStep ?? ev.type} after destroying (nothing may follow destroying)`);
    if (ev.type === "AggregationEvent") this.aggregation(ev);
    else this.object(ev);
    this.index++;
  }

  private object(ev: EpcisEvent): void {
    const ids = ev.epcList ?? [];
    const step = ev.bizStep;
    if (step === "commissioning" && ev.action === "ADD") {
      this.fault("DuplicateCommissioning", ids.filter((id) => this.commissioned.has(id) || this.inactive.has(id)), "commissioned twice");
      if (this.needLotExpiry) {
        const lot = ev.ilmd?.["cbvmda:lotNumber"];
        const exp = ev.ilmd?.["cbvmda:itemExpirationDate"];
        if (!lot || !exp) this.fault("MissingLotOrExpiry", ids.filter((id) => !isSscc(id)), `commissioning without ${!lot && !exp ? "lot and expiry" : !lot ? "lot" : "expiry"} (ILMD), which this market requires`);
      }
      for (const id of ids) this.commissioned.add(id);
      return;
    }
    if (step === "shipping" || step === "sampling" || step === "inspecting" || step === "decommissioning" || step === "destroying") {
      this.fault("NotCommissioned", ids.filter((id) => !this.commissioned.has(id) && !this.destroyed.has(id)), `${step} of identifiers never commissioned`);
    }
    if (step === "shipping") for (const id of ids) this.hierarchy(id);
    if (step === "destroying") for (const id of ids) this.destroyed.add(id);
    if (step === "decommissioning") for (const id of ids) this.inactive.add(id);
    if (ev.action === "DELETE") for (const id of ids) this.commissioned.delete(id);
  }

  /** A shipped unit's tree: every node commissioned and live, every logistic unit holding something. */
  private hierarchy(root: string): void {
    const missing: string[] = [];
    const empty: string[] = [];
    const dead: string[] = [];
    const stack = [root];
    const seen = new Set<string>();
    while (stack.length) {
      const id = stack.pop() as string;
      if (seen.has(id)) continue;
      seen.add(id);
      const kids = this.children.get(id);
      if (id !== root && !this.commissioned.has(id)) (this.destroyed.has(id) || this.inactive.has(id) ? dead : missing).push(id);
      if (isSscc(id) && (!kids || kids.size === 0)) empty.push(id);
      if (kids) stack.push(...kids);
    }
    const root1 = serialOfUri(root);
    this.fault("IncompleteHierarchy", missing, `shipped unit ${root1} contains identifiers that were never commissioned`);
    this.fault("IncompleteHierarchy", dead, `shipped unit ${root1} contains destroyed or decommissioned identifiers`);
    this.fault("IncompleteHierarchy", empty, `shipped unit ${root1} holds logistic units with no packing event (empty)`);
  }

  private aggregation(ev: EpcisEvent): void {
    const parent = ev.parentID as string;
    const kids = ev.childEPCs ?? [];
    if (ev.action === "ADD") {
      this.fault("NotCommissioned", kids.filter((id) => !this.commissioned.has(id)), `packing into ${serialOfUri(parent)} before these children were commissioned`);
      if (this.needParent && !this.commissioned.has(parent)) this.fault("NotCommissioned", [parent], "packing into a parent that was never commissioned");
      this.fault("AlreadyPacked", kids.filter((id) => this.parentOf.has(id) && this.parentOf.get(id) !== parent), `packed into ${serialOfUri(parent)} while still inside another parent (unpack first)`);
      const declared = sourceOf(ev)?.declaredCount;
      if (declared !== undefined && declared !== kids.length) this.fault("CountMismatch", [parent], `the packing record declares ${declared} children but lists ${kids.length}`);
      let set = this.children.get(parent);
      if (!set) this.children.set(parent, (set = new Set()));
      for (const k of kids) {
        const old = this.parentOf.get(k);
        if (old !== undefined && old !== parent) this.children.get(old)?.delete(k);
        set.add(k);
        this.parentOf.set(k, parent);
      }
      return;
    }
    if (ev.action === "DELETE") {
      const set = this.children.get(parent) ?? new Set<string>();
      const gone = ev.childEPCs ? kids : [...set];
      this.fault("NotInParent", gone.filter((k) => !set.has(k)), `unpacking from ${serialOfUri(parent)} children that are not in it`);
      for (const k of gone) {
        set.delete(k);
        if (this.parentOf.get(k) === parent) this.parentOf.delete(k);
      }
    }
  }

  /**
   * Take an event outside the document into the state without checking it, at its place in time: another pool's
   * event when one pool's events are exported (the shipping of a case packed by another pool's units).
   */
  observe(ev: EpcisEvent): void {
    const [recording, index] = [this.recording, this.index];
    this.recording = false;
    try {
      this.check(ev);
    } finally {
      [this.recording, this.index] = [recording, index];
    }
  }

  /**
   * A copy with the same state (commissioned, packed, destroyed) and no faults: check a batch on it, and keep it in
   * place of this one only when the batch is clean (pss-epcis checks each flush of gathered events this way).
   */
  fork(): Preflight {
    const c = new Preflight({ requireLotExpiry: this.needLotExpiry, requireParentCommissioned: this.needParent });
    for (const id of this.commissioned) c.commissioned.add(id);
    for (const id of this.destroyed) c.destroyed.add(id);
    for (const id of this.inactive) c.inactive.add(id);
    for (const [k, v] of this.parentOf) c.parentOf.set(k, v);
    for (const [k, v] of this.children) c.children.set(k, new Set(v));
    return c;
  }

  /** The faults found so far. */
  faults(): PreflightFault[] {
    return [...this.found];
  }

  /** Throws EpcisError PreflightFailed naming every fault, when there is one. */
  assert(): void {
    if (this.found.length === 0) return;
    const lines = this.found.slice(0, 10).map((f) => `  ${f.check}: ${f.message}`);
    if (this.found.length > 10) lines.push(`  and ${this.found.length - 10} more faults`);
    throw new EpcisError("PreflightFailed", `the EPCIS document is blocked by ${this.found.length} pre-flight fault(s):\n${lines.join("\n")}`, this.faults());
  }
}

/** Run every check over a sequence of events; [] when the document may leave. */
export function preflight(events: Iterable<EpcisEvent>, options: PreflightOptions = {}): PreflightFault[] {
  const p = new Preflight(options);
  for (const ev of events) p.check(ev);
  return p.faults();
}

/** Like preflight, but throws EpcisError PreflightFailed when a check fails. */
export function assertPreflight(events: Iterable<EpcisEvent>, options: PreflightOptions = {}): void {
  const p = new Preflight(options);
  for (const ev of events) p.check(ev);
  p.assert();
}
