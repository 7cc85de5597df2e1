/* A pool file for aggregation tests: units of two GTINs, commissioned with lots, and SSCC pools for parents. */
import { openPoolStore, type SqlitePoolStore } from "../../nodes/core/store";
import { makeSscc } from "../../nodes/core/gs1";

export const GTIN_A = "09506000134352";
export const GTIN_B = "09506000134369";

export const units = (prefix: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `${prefix}${String(from + i).padStart(6, "0")}`);
export const ssccs = (ext: number, n: number, from = 0) => Array.from({ length: n }, (_, i) => makeSscc("9506000", ext, from + i));

/** Adds numbers to a pool and walks them to Commissioned, with a lot in their label collection. */
export function commission(store: SqlitePoolStore, poolId: string, values: string[], lot = "L1"): void {
  store.pushTo("Encoded", { snCollection: { id: "", serialNumbers: values }, poolSelectionCriteria: { PoolID: poolId } });
  store.applyEvent("commissioning", { serialNumbers: values, labelCollection: { properties: { lot, expiry: "271231" } } });
}

/**
 * Pools: UNITS (GTIN A), UNITS_B (GTIN B), BUNDLES (serialised bundle GTIN), SSCC (cases and pallets, extension
 * digit 0) and SSCC_X (another SSCC pool, extension digit 9: "the wrong pool").
 */
export function openFixture(file: string, o: { units?: number; ssccFree?: number; bundleFree?: number } = {}): SqlitePoolStore {
  const store = openPoolStore(file, { actor: "spec" });
  store.createPool({ poolId: "UNITS", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, selectionCriteria: { GTIN: GTIN_A }, maxRequest: 100_000, maxCount: 10_000_000, isDefault: true });
  store.createPool({ poolId: "UNITS_B", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, selectionCriteria: { GTIN: GTIN_B } });
  store.createPool({ poolId: "BUNDLES", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, selectionCriteria: { GTIN: "09506000134376" } });
  store.createPool({ poolId: "SSCC", sidClass: "GS1-SSCC" });
  store.createPool({ poolId: "SSCC_X", sidClass: "GS1-SSCC" });
  if (o.units) commission(store, "UNITS", units("U", o.units));
  if (o.ssccFree) store.provision("SSCC", ssccs(0, o.ssccFree));
  if (o.bundleFree) store.provision("BUNDLES", units("BN", o.bundleFree));
  return store;
}
