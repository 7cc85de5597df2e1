/* The limits an OPEN-SCS server advertises (MaxSNRequestable, MaxEvents, ...) and enforces per call. */

export interface OpenScsLimits {
  maxSNRequestable: number;
  maxSNReturnable: number;
  maxSNPushable: number;
  maxEvents: number;
  maxAggregationEvents: number;
  maxEPCISObjectEventSIDs: number;
  maxEPCISaggregationEvents: number;
  /** the largest EPCIS document accepted through EPCISStream, in bytes */
  maxEpcisBytes: number;
}

export const DEFAULT_LIMITS: OpenScsLimits = {
  maxSNRequestable: 10_000,
  maxSNReturnable: 10_000,
  maxSNPushable: 10_000,
  maxEvents: 10_000,
  maxAggregationEvents: 1_000,
  maxEPCISObjectEventSIDs: 100_000,
  maxEPCISaggregationEvents: 10_000,
  maxEpcisBytes: 64 * 1024 * 1024,
};

/**
 * The limits of a server: the defaults, MaxSNRequestable no larger than the smallest page of the pools served
 * (`maxRequest`: a response never holds more than one page), then the numbers `configured` sets. Throws when a
 * limit is not an integer from 1 to 4294967295 (a UInt32 property).
 */
export function resolveLimits(pools: ReadonlyArray<{ maxRequest?: number }>, configured: Partial<OpenScsLimits> | undefined): OpenScsLimits {
  const poolMaxRequest = pools.map((p) => p.maxRequest).filter((m): m is number => typeof m === "number" && m > 0);
  const limits: OpenScsLimits = {
    ...DEFAULT_LIMITS,
    maxSNRequestable: poolMaxRequest.length ? Math.min(DEFAULT_LIMITS.maxSNRequestable, ...poolMaxRequest) : DEFAULT_LIMITS.maxSNRequestable,
    ...Object.fromEntries(Object.entries(configured ?? {}).filter(([, v]) => typeof v === "number")),
  };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) throw new Error(`limits.${k} must be an integer from 1 to 4294967295, not ${v}`);
  }
  return limits;
}
