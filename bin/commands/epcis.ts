/* serialflow epcis export: the audited events of a period as an EPCIS 2.0 JSON-LD (or 1.2 XML) document,
   streamed from the pool file and pre-flight checked; the output file appears only when complete and clean. */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, required, UsageError, type ParsedArgs } from "../args";
import { EPCIS_EXPORT_USAGE } from "../commands";
import { openPoolStore, type AuditRecord } from "../../nodes/core/store";
import * as epcis from "../../nodes/core/epcis";
import * as gs1 from "../../nodes/core/gs1";
import { progressBar } from "../progress";

const USAGE = EPCIS_EXPORT_USAGE;

/** The options the command accepts: its parser's table (the usage in bin/commands.ts lists each; a test checks). */
export const OPTIONS = {
  values: ["db", "out", "from", "to", "pool", "company-prefix-length", "gtin", "identifiers", "read-point", "biz-location", "market", "format", "sender", "receiver", "time-zone-offset", "company-prefixes", "prefix-file"],
  flags: ["include-internal", "no-preflight"],
};

/** GTIN keys a pool's selection criteria may carry (`pool create --gtin` writes GTIN). */
const GTIN_KEYS = ["GTIN", "gtin", "01"];

function iso(p: ParsedArgs, name: string): string | undefined {
  const v = p.options.get(name)?.at(-1);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--${name} ${JSON.stringify(v)} is not a date or ISO 8601 date-time`);
  return new Date(t).toISOString();
}

function one(p: ParsedArgs, name: string): string | undefined {
  return p.options.get(name)?.at(-1);
}

export async function run(argv: string[]): Promise<number> {
  let p: ParsedArgs;
  let db: string;
  let out: string;
  let from: string | undefined;
  let to: string | undefined;
  let poolId: string | undefined;
  let identifiersNote = "";
  const build: epcis.BuildOptions = {};
  const doc: epcis.DocumentOptions = {};
  try {
    p = parseArgs(argv, OPTIONS);
    if (p.positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
    db = path.resolve(required(p, "db"));
    out = path.resolve(required(p, "out"));
    from = iso(p, "from");
    to = iso(p, "to");
    poolId = one(p, "pool");
    const cpl = one(p, "company-prefix-length");
    if (cpl !== undefined) {
      if (!/^(6|7|8|9|10|11|12)$/.test(cpl)) throw new UsageError(`--company-prefix-length must be 6 to 12, got ${cpl}`);
      build.companyPrefixLength = Number(cpl);
    }
    for (const g of p.options.get("gtin") ?? []) {
      const eq = g.indexOf("=");
      if (eq < 0) build.gtin = g;
      else (build.gtinByPool ??= {})[g.slice(0, eq)] = g.slice(eq + 1);
    }
    const idf = one(p, "identifiers");
    if (idf !== undefined && idf !== "epc" && idf.toLowerCase() !== "digitallink") throw new UsageError(`--identifiers is epc or digitalLink, got ${idf}`);
    if (idf) build.identifiers = idf === "epc" ? "epc" : "digitalLink";
    // per identifier: the listed prefixes first, then GS1's published list, then --company-prefix-length
    const tables: gs1.PrefixTable[] = [];
    const cps = one(p, "company-prefixes");
    try {
      if (cps !== undefined) tables.push(gs1.prefixTable(gs1.parseCompanyPrefixList(cps)));
      const pf = one(p, "prefix-file");
      if (pf !== undefined) tables.push(gs1.loadGcpPrefixFormatList(path.resolve(pf)));
    } catch (err) {
      throw new UsageError(`--company-prefixes / --prefix-file: ${(err as Error).message}`);
    }
    if (tables.length) build.prefixTable = { size: tables.reduce((n, t) => n + t.size, 0), lengthOf: (d) => tables.reduce<number | undefined>((n, t) => n ?? t.lengthOf(d), undefined) };
    const prefixKnown = build.companyPrefixLength !== undefined || build.prefixTable !== undefined;
    if (build.identifiers === "epc" && !prefixKnown) throw new UsageError("EPC URIs need --company-prefix-length, --company-prefixes or --prefix-file (or leave out --identifiers for GS1 Digital Link URIs)");
    // no form asked for: EPC URIs when a company prefix length is known, else Digital Link URIs (they need none)
    build.identifiers ??= prefixKnown ? "epc" : "digitalLink";
    identifiersNote =
      build.identifiers === "epc"
        ? "identifiers: EPC URIs (urn:epc:id:...)"
        : `identifiers: GS1 Digital Link URIs (https://id.gs1.org/...)${idf === undefined ? "; for EPC URIs give --company-prefix-length, --company-prefixes or --prefix-file" : ""}`;
    const rp = one(p, "read-point");
    if (rp) build.readPoint = rp;
    const bl = one(p, "biz-location");
    if (bl) build.bizLocation = bl;
    const tz = one(p, "time-zone-offset");
    if (tz) {
      build.timeZoneOffset = tz;
      try {
        epcis.timeZoneOffsetAt(tz, new Date());
      } catch (err) {
        throw new UsageError(`--time-zone-offset: ${(err as Error).message}`);
      }
    }
    build.includeInternal = p.flags.has("include-internal");
    const fmt = one(p, "format");
    if (fmt !== undefined && fmt !== "jsonld" && fmt !== "xml12") throw new UsageError(`--format is jsonld or xml12, got ${fmt}`);
    if (fmt) doc.format = fmt;
    const sender = one(p, "sender");
    if (sender) doc.sender = sender;
    const receiver = one(p, "receiver");
    if (receiver) doc.receiver = receiver;
  } catch (err) {
    console.error(`serialflow epcis export: ${(err as Error).message}\nUsage: ${USAGE}`);
    return 2;
  }
  if (!fs.existsSync(db)) {
    console.error(`serialflow epcis export: no pool file at ${db}`);
    return 1;
  }
  const store = openPoolStore(db, { actor: "serialflow-cli" });
  const pools = store.listPools();
  if (poolId !== undefined && !pools.some((x) => x.poolId === poolId)) {
    console.error(`serialflow epcis export: pool ${poolId} does not exist in ${db} (pools: ${pools.map((x) => x.poolId).join(", ") || "none"})\nUsage: ${USAGE}`);
    store.close();
    return 2;
  }
  // each pool's GTIN from its stored selection criteria; --gtin POOL=GTIN overrides it, a bare --gtin fills pools without one
  const stored: Record<string, string> = {};
  for (const pool of pools) {
    const g = GTIN_KEYS.map((k) => pool.selectionCriteria[k]).find((v) => typeof v === "string" && v !== "");
    if (g !== undefined) stored[pool.poolId] = g;
  }
  if (Object.keys(stored).length || build.gtinByPool) build.gtinByPool = { ...stored, ...build.gtinByPool };
  // a commissioning's lot and expiry may sit on its label collection
  build.labelCollectionProperties = (id) => store.labelCollectionProperties(id);
  // one bar over the records read: those before the period (pre-flight state), then the period's; the writer
  // awaits each flushed chunk, so the bar moves while the document is written
  const bar = progressBar("exporting");
  const q: { fromTime?: string; toTime?: string } = {};
  if (from) q.fromTime = from;
  if (to) q.toTime = to;
  const preflight = !p.flags.has("no-preflight");
  const priorTotal = preflight && from !== undefined && bar.active ? store.countAuditRecords({ toTime: from }) : 0;
  const allTotal = bar.active ? priorTotal + store.countAuditRecords(q) : 0;
  const track = (offset: number) => (bar.active ? { onProgress: (done: number) => bar.update(offset + done, allTotal) } : {});
  try {
    if (preflight) {
      const market = one(p, "market");
      // events before the period build the pre-flight state (what was commissioned, packed, destroyed)
      const before = function* (): Generator<AuditRecord> {
        if (from === undefined) return;
        for (const r of store.auditRecords({ toTime: from }, track(0))) if (r.time < (from as string)) yield r;
      };
      doc.preflight = { priorEvents: epcis.fromAuditRecords(before(), build) };
      if (market) doc.preflight.market = market;
    }
    let events: Iterable<epcis.EpcisEvent> = epcis.fromAuditRecords(store.auditRecords(q, track(priorTotal)), build);
    if (poolId !== undefined) {
      // one pool's events; the other pools' events of the period still build the pre-flight state in their place
      // (the units packed into a case of this pool come from another), without being checked or written
      const pf = doc.preflight ? new epcis.Preflight(doc.preflight) : null;
      delete doc.preflight;
      const own = poolId;
      events = (function* (): Generator<epcis.EpcisEvent> {
        for (const r of store.auditRecords(q, track(priorTotal))) {
          if (r.poolId !== own && !pf) continue;
          for (const ev of epcis.fromAuditRecords([r], build)) {
            if (r.poolId === own) {
              pf?.check(ev);
              yield ev;
            } else pf?.observe(ev);
          }
        }
        pf?.assert();
      })();
    }
    console.log(identifiersNote);
    const r = await epcis.exportToFile(events, out, doc);
    bar.end();
    console.log(`wrote ${r.events} EPCIS events (${r.bytes} bytes) to ${out}${poolId === undefined ? "" : ` (pool ${poolId})`}`);
    return 0;
  } catch (err) {
    bar.end();
    const e = err as epcis.EpcisError;
    console.error(`serialflow epcis export: ${e.code ? `${e.code}: ` : ""}${e.message}\nnothing was written to ${out}`);
    return 1;
  } finally {
    store.close();
  }
}
