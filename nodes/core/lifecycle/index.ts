/* The PSS lifecycle: the 12 SerialNumber states, the 16 events, ReturnStatus, and the state x event table that
   the store's guard obeys. The table is data, in one place (TRANSITIONS); docs/store.md prints it. */

/** OPENSCSSerialNumberStateEnum, in enum order (index = numeric value). */
export const STATES = [
  "Unassigned",
  "Unallocated",
  "Allocated",
  "SNInvalid",
  "Encoded",
  "LabelSampled",
  "LabelScrapped",
  "Commissioned",
  "Sampled",
  "Inactive",
  "Destroyed",
  "Released",
] as const;
export type SerialNumberState = (typeof STATES)[number];

/** State name -> OPENSCSSerialNumberStateEnum value. */
export const SerialNumberState: Readonly<Record<SerialNumberState, number>> = Object.freeze(
  Object.fromEntries(STATES.map((s, i) => [s, i])) as Record<SerialNumberState, number>,
);

export function isState(s: unknown): s is SerialNumberState {
  return typeof s === "string" && (STATES as readonly string[]).includes(s);
}

export function stateToEnum(s: SerialNumberState): number {
  const n = SerialNumberState[s];
  if (n === undefined) throw new RangeError(`unknown SerialNumber state "${String(s)}" (states: ${STATES.join(", ")})`);
  return n;
}

export function stateFromEnum(n: number): SerialNumberState {
  const s = STATES[n];
  if (s === undefined || !Number.isInteger(n)) throw new RangeError(`no SerialNumber state has the enum value ${n} (0..${STATES.length - 1})`);
  return s;
}

/** The 16 PSS events (OPEN-SCS PSS 1.0; OPC 30260 §4.1.4, Serial Number State and Event Model). */
export const EVENTS = [
  "provisioning",
  "sn_returning",
  "sn_allocating",
  "sn_deallocating",
  "sn_invalidating",
  "sn_encoding",
  "label_inspecting",
  "label_sampling",
  "label_scrapping",
  "commissioning",
  "inspecting",
  "shipping",
  "decommissioning",
  "destroying",
  "packing",
  "unpacking",
] as const;
export type PssEvent = (typeof EVENTS)[number];

export function isEvent(e: unknown): e is PssEvent {
  return typeof e === "string" && (EVENTS as readonly string[]).includes(e);
}

/** OPENSCSReturnEnum names without their numeric suffix, in enum order. */
export const RETURN_STATUSES = [
  "Undefined",
  "NoError",
  "InvalidSerialNumberCollection",
  "InsufficientSerialNumbers",
  "InvalidSerialNumbersFormat",
  "InvalidRequestToken",
  "InvalidSelectionCriteria",
  "UnableToAcceptSerialNumberEvents",
  "UnableToAcceptLabelEvents",
  "UnableToAcceptSIDEvents",
  "UnknownAggregationSID",
  "InsufficientPrivilegeToExecute",
] as const;
export type ReturnStatus = (typeof RETURN_STATUSES)[number];

/** ReturnStatus name -> OPENSCSReturnEnum value. */
export const ReturnStatus: Readonly<Record<ReturnStatus, number>> = Object.freeze(
  Object.fromEntries(RETURN_STATUSES.map((s, i) => [s, i])) as Record<ReturnStatus, number>,
);

export function isReturnStatus(s: unknown): s is ReturnStatus {
  return typeof s === "string" && (RETURN_STATUSES as readonly string[]).includes(s);
}

export function returnStatusToEnum(name: ReturnStatus): number {
  const i = (RETURN_STATUSES as readonly string[]).indexOf(name);
  if (i < 0) throw new RangeError(`unknown ReturnStatus "${String(name)}" (${RETURN_STATUSES.join(", ")})`);
  return i;
}

export function returnStatusFromEnum(n: number): ReturnStatus {
  const s = RETURN_STATUSES[n];
  if (s === undefined || !Number.isInteger(n)) throw new RangeError(`no ReturnStatus has the enum value ${n} (0..${RETURN_STATUSES.length - 1})`);
  return s;
}

/** States after which nothing may happen to the serial number (no event is allowed from them). */
export const TERMINAL_STATES: readonly SerialNumberState[] = ["SNInvalid", "LabelSampled", "LabelScrapped", "Destroyed"];

/**
 * The state x event table: for each event, the states it may start from and the state it leads to.
 * A missing cell is forbidden. Decisions where the PSS is loose are explained in docs/store.md.
 */
export const TRANSITIONS: Readonly<Record<PssEvent, Readonly<Partial<Record<SerialNumberState, SerialNumberState>>>>> = {
  provisioning: { Unassigned: "Unallocated" },
  sn_returning: { Unallocated: "Unassigned" },
  sn_allocating: { Unallocated: "Allocated" },
  sn_deallocating: { Allocated: "Unallocated" },
  sn_invalidating: { Unassigned: "SNInvalid", Unallocated: "SNInvalid", Allocated: "SNInvalid" },
  sn_encoding: { Allocated: "Encoded" },
  label_inspecting: { Encoded: "Encoded", Commissioned: "Commissioned" },
  label_sampling: { Encoded: "LabelSampled" },
  label_scrapping: { Encoded: "LabelScrapped" },
  commissioning: { Encoded: "Commissioned" },
  inspecting: { Commissioned: "Sampled" },
  shipping: { Commissioned: "Released" },
  decommissioning: { Commissioned: "Inactive", Sampled: "Inactive", Released: "Inactive" },
  destroying: { Commissioned: "Destroyed", Sampled: "Destroyed", Inactive: "Destroyed", Released: "Destroyed" },
  packing: { Commissioned: "Commissioned" },
  unpacking: { Commissioned: "Commissioned" },
};

/** Why some forbidden cells are forbidden, where the generic reason would not tell an operator enough. */
const REFUSALS: Partial<Record<PssEvent, Partial<Record<SerialNumberState, string>>>> = {
  sn_invalidating: { Encoded: "an encoded label is scrapped (label_scrapping) or sampled, not invalidated" },
  shipping: { Released: "already shipped: a serial number is released once" },
  commissioning: {
    Commissioned: "already commissioned",
    Inactive: "a decommissioned identifier stays dead (CBV): re-commissioning needs a new serial number",
    Released: "already shipped: a released serial number is never commissioned again",
    Sampled: "a sample is never commissioned again",
  },
  inspecting: { Released: "a released pack is out of production's responsibility: it is no longer sampled here" },
  provisioning: { Unallocated: "already Unallocated" },
  sn_allocating: { Allocated: "already Allocated", Unassigned: "provision it first (provisioning), then allocate" },
  packing: { Encoded: "only commissioned items are packed: commission it first" },
  unpacking: { Encoded: "only commissioned items are unpacked" },
};

export type TransitionResult = { allowed: true; to: SerialNumberState } | { allowed: false; reason: string };

/** The guard: may `event` happen to a serial number in `state`, and where does it lead? */
export function transition(state: SerialNumberState, event: PssEvent): TransitionResult {
  const row = TRANSITIONS[event];
  if (!row) return { allowed: false, reason: `"${String(event)}" is not a PSS event (events: ${EVENTS.join(", ")})` };
  if (!isState(state)) return { allowed: false, reason: `"${String(state)}" is not a SerialNumber state` };
  const to = row[state];
  if (to) return { allowed: true, to };
  const special = REFUSALS[event]?.[state];
  if (special) return { allowed: false, reason: `${event} from ${state}: ${special}` };
  if (TERMINAL_STATES.includes(state)) return { allowed: false, reason: `${event} from ${state}: ${state} is terminal, no event may follow it` };
  const from = Object.keys(row).join(" or ");
  return { allowed: false, reason: `${event} from ${state}: ${event} needs a serial number in ${from}` };
}

/** The states `event` may start from. */
export function statesAllowing(event: PssEvent): SerialNumberState[] {
  return STATES.filter((s) => TRANSITIONS[event][s] !== undefined);
}

/** The forward path the pool functions walk (Request/SNto*), one event per step. */
export const FORWARD_PATH: ReadonlyArray<{ from: SerialNumberState; event: PssEvent; to: SerialNumberState }> = [
  { from: "Unassigned", event: "provisioning", to: "Unallocated" },
  { from: "Unallocated", event: "sn_allocating", to: "Allocated" },
  { from: "Allocated", event: "sn_encoding", to: "Encoded" },
  { from: "Encoded", event: "commissioning", to: "Commissioned" },
  { from: "Commissioned", event: "shipping", to: "Released" },
];

/** The events that lead from `from` to `to` along the forward path ([] when equal, null when there is no path). */
export function forwardSteps(from: SerialNumberState, to: SerialNumberState): PssEvent[] | null {
  if (from === to) return [];
  const steps: PssEvent[] = [];
  let s: SerialNumberState = from;
  for (const step of FORWARD_PATH) {
    if (step.from !== s) continue;
    steps.push(step.event);
    s = step.to;
    if (s === to) return steps;
  }
  return null;
}

/** The table as markdown (rows = states, columns = events): for docs/store.md and the README. */
export function transitionTableMarkdown(): string {
  const head = `| state \\ event | ${EVENTS.join(" | ")} |`;
  const sep = `|---|${EVENTS.map(() => "---").join("|")}|`;
  const rows = STATES.map((s) => `| **${s}** | ${EVENTS.map((e) => {
    const to = TRANSITIONS[e][s];
    return to === undefined ? "—" : to === s ? "= (no change)" : `→ ${to}`;
  }).join(" | ")} |`);
  return [head, sep, ...rows].join("\n");
}

/** What a PoolManager function does with the numbers it names. */
export type PoolOperation = "request" | "return" | "push";

export interface PoolFunctionStates {
  /** the OPC 30260 method name */
  method: "SNRequestUnassigned" | "SNRequestUnallocated" | "SNRequestAllocated" | "SNReturnUnallocated" | "SNReturnAllocated" | "SNtoUnallocated" | "SNtoAllocated" | "SNtoEncoded";
  operation: PoolOperation;
  /** the states the numbers come from (a request takes free ones; a push also adds numbers the pool does not know) */
  source: readonly SerialNumberState[];
  /** the state the numbers end in */
  target: SerialNumberState;
}

/**
 * The eight pool functions, with the state their numbers come from and the state they end in, stated once: the function
 * nodes, the OPC UA server, the remote pool and the help text all read them here. A return names its SOURCE
 * (SNReturnAllocated gives Allocated numbers back, to Unallocated); a request or a push names its TARGET.
 */
export const POOL_FUNCTIONS: readonly PoolFunctionStates[] = [
  { method: "SNRequestUnassigned", operation: "request", source: ["Unassigned"], target: "Unassigned" },
  { method: "SNRequestUnallocated", operation: "request", source: ["Unassigned"], target: "Unallocated" },
  { method: "SNRequestAllocated", operation: "request", source: ["Unallocated", "Unassigned"], target: "Allocated" },
  { method: "SNReturnUnallocated", operation: "return", source: ["Unallocated"], target: "Unassigned" },
  { method: "SNReturnAllocated", operation: "return", source: ["Allocated"], target: "Unallocated" },
  { method: "SNtoUnallocated", operation: "push", source: ["Unassigned"], target: "Unallocated" },
  { method: "SNtoAllocated", operation: "push", source: ["Unassigned", "Unallocated"], target: "Allocated" },
  { method: "SNtoEncoded", operation: "push", source: ["Unassigned", "Unallocated", "Allocated"], target: "Encoded" },
];

/** The state a pool function's name carries, which is what the store, the OPC UA backend and the remote pool are
    called with: the target of a request or a push, the source of a return. */
export function namedState(f: PoolFunctionStates): SerialNumberState {
  return f.operation === "return" ? f.source[0] : f.target;
}

/** The pool function of a method name (SNReturnAllocated, ...), or undefined. */
export function poolFunction(method: string): PoolFunctionStates | undefined {
  return POOL_FUNCTIONS.find((f) => f.method === method);
}

/** The pool function an operation on a named state is (("return", "Allocated") is SNReturnAllocated), or undefined. */
export function poolFunctionFor(operation: PoolOperation, state: string): PoolFunctionStates | undefined {
  return POOL_FUNCTIONS.find((f) => f.operation === operation && namedState(f) === state);
}
