/* What an auditor checks on a pool file: SQLite's integrity check, a pool and an audit log present, the hash chain,
   and a replay of the log that must give every stored state (the first number that differs is named). Reads only:
   the replay lives in a TEMP table, so a read-only connection (a read-only copy) is enough. */
import { STATES, stateFromEnum } from "../lifecycle";
import type { SqlitePoolStore } from "./index";

export type FileCheck =
  | { ok: true; records: number; numbers: number; pools: number; lastHash: string }
  | { ok: false; check: "integrity" | "pool" | "log" | "chain" | "state" | "counter"; message: string; seq?: number; serialNumber?: string; kind?: string };

const PAGE = 500;

/** Replays the audit log over the stored numbers; names the first record or number that does not agree.
    With onProgress: (records replayed, records) after each page of PAGE records. */
export function replayStates(store: SqlitePoolStore, onProgress?: (done: number, total: number) => void): FileCheck | { ok: true; numbers: number } {
  const db = store.db;
  const enumOf = new Map(STATES.map((s, i) => [s as string, i]));
  db.exec("DROP TABLE IF EXISTS temp.sf_replay; CREATE TEMP TABLE sf_replay (value TEXT PRIMARY KEY, state INTEGER NOT NULL, pool TEXT NOT NULL, coll TEXT) WITHOUT ROWID");
  const page = db.prepare("SELECT seq, event, pool_id, serial_numbers, from_state, to_state, method, sn_collection_id FROM audit WHERE seq > ? ORDER BY seq LIMIT ?");
  const known = db.prepare("SELECT j.value FROM json_each(?) j JOIN temp.sf_replay r ON r.value = j.value LIMIT 1").pluck();
  const wrongFrom = db.prepare("SELECT j.value AS v, r.state AS s FROM json_each(?) j LEFT JOIN temp.sf_replay r ON r.value = j.value WHERE r.state IS NOT ? OR r.pool IS NOT ? LIMIT 1");
  // coll: the collection a request last handed the number out in
  const put = db.prepare("INSERT INTO temp.sf_replay (value, state, pool, coll) SELECT value, ?, ?, ? FROM json_each(?) WHERE true ON CONFLICT (value) DO UPDATE SET state = excluded.state, coll = coalesce(excluded.coll, coll)");
  let last = 0;
  let replayed = 0;
  try {
    db.exec("BEGIN"); // one snapshot of the file for the whole replay
    const total = onProgress ? (db.prepare("SELECT count(*) FROM audit").pluck().get() as number) : 0;
    for (;;) {
      if (onProgress && replayed > 0) onProgress(Math.min(replayed, total), Math.max(replayed, total));
      const rows = page.all(last, PAGE) as Array<{ seq: number; event: string; pool_id: string; serial_numbers: string; from_state: string | null; to_state: string | null; method: string | null; sn_collection_id: string | null }>;
      if (rows.length === 0) break;
      replayed += rows.length;
      for (const r of rows) {
        last = r.seq;
        if (r.serial_numbers === "") continue;
        const json = JSON.stringify(r.serial_numbers.split("\n"));
        if (r.event === "sn_adding") {
          const twice = known.get(json) as string | undefined;
          if (twice !== undefined) return { ok: false, check: "state", seq: r.seq, serialNumber: twice, message: `serial number ${twice} is added twice to the log (audit record ${r.seq})` };
        } else if (r.from_state !== null) {
          const from = enumOf.get(r.from_state);
          const bad = wrongFrom.get(json, from ?? -1, r.pool_id) as { v: string; s: number | null } | undefined;
          if (bad) {
            const was = bad.s === null ? "not in the log before" : `${stateFromEnum(bad.s)} in the log before`;
            return { ok: false, check: "state", seq: r.seq, serialNumber: bad.v, message: `serial number ${bad.v}: audit record ${r.seq} (${r.event}) takes it from ${r.from_state} in pool ${r.pool_id}, but it was ${was}` };
          }
        }
        if (r.to_state !== null) {
          const to = enumOf.get(r.to_state);
          if (to === undefined) return { ok: false, check: "state", seq: r.seq, message: `audit record ${r.seq} names an unknown state ${JSON.stringify(r.to_state)}` };
          put.run(to, r.pool_id, r.method?.startsWith("SNRequest") ? r.sn_collection_id : null, json);
        }
      }
    }
    // a stored state the log does not give: changed around the log (by SQL, or a tool that bypassed the store)
    const diff = db.prepare(`SELECT s.value AS v, s.state AS s, r.state AS r, p.pool_id AS pool, r.pool AS rpool FROM serial_number s JOIN pool p ON p.pk = s.pool
      LEFT JOIN temp.sf_replay r ON r.value = s.value WHERE r.state IS NOT s.state OR r.pool IS NOT p.pool_id ORDER BY s.value LIMIT 1`).get() as { v: string; s: number; r: number | null; pool: string; rpool: string | null } | undefined;
    if (diff) {
      const said = diff.r === null ? "the audit log never mentions it" : diff.rpool !== diff.pool ? `the audit log puts it in pool ${diff.rpool}` : `the audit log says ${stateFromEnum(diff.r)}`;
      return { ok: false, check: "state", serialNumber: diff.v, message: `serial number ${diff.v} is stored as ${stateFromEnum(diff.s)} in pool ${diff.pool}, but ${said}: its state was changed around the audit log` };
    }
    const gone = db.prepare("SELECT r.value FROM temp.sf_replay r LEFT JOIN serial_number s ON s.value = r.value WHERE s.value IS NULL ORDER BY r.value LIMIT 1").pluck().get() as string | undefined;
    if (gone !== undefined) return { ok: false, check: "state", serialNumber: gone, message: `serial number ${gone} is in the audit log but no longer stored: it was deleted around the log` };
    const counted = db.prepare(`SELECT p.pool_id AS pool, c.state AS state, c.n AS n, (SELECT count(*) FROM serial_number s WHERE s.pool = c.pool AND s.state = c.state) AS actual
      FROM pool_count c JOIN pool p ON p.pk = c.pool WHERE c.n != (SELECT count(*) FROM serial_number s WHERE s.pool = c.pool AND s.state = c.state) LIMIT 1`).get() as { pool: string; state: number; n: number; actual: number } | undefined;
    if (counted) return { ok: false, check: "counter", message: `pool ${counted.pool}: the counter of ${stateFromEnum(counted.state)} says ${counted.n}, the file holds ${counted.actual}` };
    // what a repeated request would return again must be numbers the file holds
    let lost: { coll: string; v: string } | undefined;
    try {
      lost = db.prepare(`SELECT coalesce(c.id, '#' || r.sn_collection) AS coll, j.value AS v FROM sn_request r LEFT JOIN sn_collection c ON c.pk = r.sn_collection, json_each(r.numbers) j
        LEFT JOIN temp.sf_replay x ON x.value = j.value WHERE x.coll IS NOT c.id OR c.pk IS NULL LIMIT 1`).get() as { coll: string; v: string } | undefined;
      const twice = db.prepare(`SELECT coalesce(c.id, '#' || r.sn_collection) AS coll, j.value AS v FROM sn_request r LEFT JOIN sn_collection c ON c.pk = r.sn_collection, json_each(r.numbers) j
        GROUP BY r.sn_collection, j.value HAVING count(*) > 1 LIMIT 1`).get() as { coll: string; v: string } | undefined;
      if (twice && !lost) return { ok: false, check: "state", serialNumber: twice.v, message: `SNCollection ${twice.coll}: a repeat of its request would return ${twice.v} twice (the request record was changed)` };
    } catch (err) {
      return { ok: false, check: "state", message: `the record of answered requests (sn_request) is damaged: ${(err as Error).message}` };
    }
    if (lost) return { ok: false, check: "state", serialNumber: lost.v, message: `SNCollection ${lost.coll}: a repeat of its request would return ${lost.v}, which the audit log does not hand out in that collection (the request record was changed)` };
    const numbers = db.prepare("SELECT count(*) FROM temp.sf_replay").pluck().get() as number;
    return { ok: true, numbers };
  } finally {
    if (db.inTransaction) db.exec("COMMIT");
    db.exec("DROP TABLE IF EXISTS temp.sf_replay");
  }
}

/**
 * Every check of `serialflow audit verify`, in order; stops at the first that fails. With onProgress: work units
 * done of total, increasing: each audit record counts twice (its hash, then its replay); (total, total) once every
 * check has passed. Called per chunk of records (the work is synchronous: a caller draws from the callback).
 */
export function verifyPoolFile(store: SqlitePoolStore, options: { onProgress?: (done: number, total: number) => void } = {}): FileCheck {
  const db = store.db;
  const onProgress = options.onProgress;
  const integrity = db.pragma("integrity_check(20)", { simple: false }) as Array<{ integrity_check: string }>;
  if (!(integrity.length === 1 && integrity[0].integrity_check === "ok")) {
    return { ok: false, check: "integrity", message: `SQLite's integrity check fails: ${integrity.map((r) => r.integrity_check).slice(0, 5).join("; ")}` };
  }
  const pools = store.listPools().length;
  if (pools === 0) return { ok: false, check: "pool", message: `${store.file} holds no pool` };
  const records = db.prepare("SELECT count(*) FROM audit").pluck().get() as number;
  if (records === 0) return { ok: false, check: "log", message: `${store.file} holds no audit record: a pool file always has at least its pool's creation` };
  // the replay's last page is followed by whole-file cross-checks: its share stops one unit short until they pass
  const total = 2 * records;
  let high = 0; // never backwards, even when records were appended between the chain's count and the replay's snapshot
  const report = onProgress ? (done: number) => onProgress((high = Math.max(high, Math.min(done, total - 1))), total) : undefined;
  report?.(0);
  const chain = store.verifyAudit(report ? { onProgress: (done) => report(done) } : {});
  if (!chain.ok) return { ok: false, check: "chain", seq: chain.seq, kind: chain.kind, message: chain.message };
  const replay = replayStates(store, report ? (done) => report(records + done) : undefined);
  if (!replay.ok) return replay;
  onProgress?.(total, total);
  return { ok: true, records: chain.count, numbers: (replay as { numbers: number }).numbers, pools, lastHash: chain.lastHash };
}
