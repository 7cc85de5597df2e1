/* The 20 PSS functions, described once. The runtime registration (pss-function.ts) and the editor
   definitions (scripts/build-assets.js writes each node's .html, help and catalogue) are derived from
   this table: adding a function is one row. Method names and argument order: OPC 30260 §6.3.1-6.3.3 (pool, event and aggregation managers).
   The source and target states of the eight pool functions come from the core's POOL_FUNCTIONS, the one
   statement of them that the OPC UA server and the remote pool read too. */
import { poolFunction, type PoolOperation } from "../core/lifecycle";
import type { SerialNumberState } from "../core/lifecycle";

export type ArgumentShape =
  /** SNRequest*: SNCollectionID, Count, SNFormat, PoolSelectionCriteria, RequestToken */
  | "request"
  /** SNReturn* and SNto*: SNCollection, PoolSelectionCriteria, SNFormat */
  | "snCollection"
  /** SNInvalidatingEvent: SNCollection, SNFormat, OPENSCSEventContext */
  | "snEvent"
  /** Labels* and SID*: LabelCollection, SNFormat, OPENSCSEventContext */
  | "labelEvent"
  /** Aggregation*: AggregationElement[], ParentSNFormat, PackedElementSNFormat, AggregationContext */
  | "aggregation";

export type Manager = "PoolManager" | "EventManager" | "AggregationManager";

export interface PssFunction {
  /** Node-RED type */
  type: string;
  /** the OPC 30260 method name */
  method: string;
  manager: Manager;
  shape: ArgumentShape;
  /** pool functions (from POOL_FUNCTIONS): request, return or push */
  operation?: PoolOperation;
  /** pool functions (from POOL_FUNCTIONS): the states the numbers come from */
  source?: readonly SerialNumberState[];
  /** pool functions (from POOL_FUNCTIONS): the state the numbers end in */
  target?: SerialNumberState;
  /** the PSS event the call records (events and aggregation) */
  event?:
    | "sn_invalidating"
    | "sn_encoding"
    | "label_scrapping"
    | "label_inspecting"
    | "label_sampling"
    | "commissioning"
    | "destroying"
    | "shipping"
    | "inspecting"
    | "decommissioning"
    | "packing"
    | "unpacking";
  /** one line for the palette tooltip and the help's first paragraph */
  summary: string;
  /** what happens to the serial numbers, for the help text */
  effect: string;
}

/** A row; a pool function's operation, source and target states are taken from POOL_FUNCTIONS by its method name. */
function F(row: Omit<PssFunction, "operation" | "source" | "target">): PssFunction {
  const pool = poolFunction(row.method);
  if (row.manager === "PoolManager" && !pool) throw new Error(`internal: ${row.method} is not in POOL_FUNCTIONS`);
  return pool ? { ...row, operation: pool.operation, source: pool.source, target: pool.target } : row;
}

export const PSS_FUNCTIONS: readonly PssFunction[] = [
  F({ type: "pss-sn-request-unassigned", method: "SNRequestUnassigned", manager: "PoolManager", shape: "request",
      summary: "Requests unassigned serial numbers from a pool, for another pool to manage.",
      effect: "The numbers stay Unassigned, bound to the returned SN collection; they are never handed out again." }),
  F({ type: "pss-sn-request-unallocated", method: "SNRequestUnallocated", manager: "PoolManager", shape: "request",
      summary: "Requests serial numbers for production (Unassigned → Unallocated).",
      effect: "Unassigned numbers move to Unallocated and are bound to the returned SN collection." }),
  F({ type: "pss-sn-request-allocated", method: "SNRequestAllocated", manager: "PoolManager", shape: "request",
      summary: "Requests serial numbers for a packaging run (→ Allocated).",
      effect: "Free Unallocated numbers, then Unassigned ones, move to Allocated and are bound to the returned SN collection." }),
  F({ type: "pss-sn-return-unallocated", method: "SNReturnUnallocated", manager: "PoolManager", shape: "snCollection",
      summary: "Gives unallocated serial numbers back to their pool (Unallocated → Unassigned).",
      effect: "The numbers of the named SN collection go back to Unassigned and become free in the pool." }),
  F({ type: "pss-sn-return-allocated", method: "SNReturnAllocated", manager: "PoolManager", shape: "snCollection",
      summary: "Gives allocated serial numbers back to their pool (Allocated → Unallocated).",
      effect: "The numbers of the named SN collection go back to Unallocated and become free in the pool." }),
  F({ type: "pss-sn-to-unallocated", method: "SNtoUnallocated", manager: "PoolManager", shape: "snCollection",
      summary: "Pushes serial numbers into the pool in state Unallocated (unsolicited).",
      effect: "Numbers unknown to the pool are added; known ones move to Unallocated where the state model allows it." }),
  F({ type: "pss-sn-to-allocated", method: "SNtoAllocated", manager: "PoolManager", shape: "snCollection",
      summary: "Pushes serial numbers into the pool in state Allocated (unsolicited).",
      effect: "Numbers unknown to the pool are added; known ones move to Allocated where the state model allows it." }),
  F({ type: "pss-sn-to-encoded", method: "SNtoEncoded", manager: "PoolManager", shape: "snCollection",
      summary: "Pushes serial numbers into the pool in state Encoded (unsolicited).",
      effect: "Numbers unknown to the pool are added; known ones move to Encoded where the state model allows it." }),
  F({ type: "pss-sn-invalidating", method: "SNInvalidatingEvent", manager: "EventManager", shape: "snEvent", event: "sn_invalidating",
      summary: "Declares serial numbers invalid (→ SNInvalid, terminal).",
      effect: "The numbers move to SNInvalid and can never be used again." }),
  F({ type: "pss-labels-encoding", method: "LabelsEncodingEvent", manager: "EventManager", shape: "labelEvent", event: "sn_encoding",
      summary: "Reports labels printed or encoded (Allocated → Encoded).",
      effect: "The numbers move to Encoded; the label collection and its properties (lot, expiry, ...) are stored." }),
  F({ type: "pss-labels-scrapping", method: "LabelsScrappingEvent", manager: "EventManager", shape: "labelEvent", event: "label_scrapping",
      summary: "Reports encoded labels destroyed before use (Encoded → LabelScrapped, terminal).",
      effect: "The numbers move to LabelScrapped." }),
  F({ type: "pss-labels-inspecting", method: "LabelsInspectingEvent", manager: "EventManager", shape: "labelEvent", event: "label_inspecting",
      summary: "Reports an inspection of encoded labels (no state change).",
      effect: "The state does not change; the inspection is audited." }),
  F({ type: "pss-labels-sampling", method: "LabelsSamplingEvent", manager: "EventManager", shape: "labelEvent", event: "label_sampling",
      summary: "Reports encoded labels kept as samples (Encoded → LabelSampled, terminal).",
      effect: "The numbers move to LabelSampled." }),
  F({ type: "pss-sid-commissioning", method: "SIDCommissioningEvent", manager: "EventManager", shape: "labelEvent", event: "commissioning",
      summary: "Reports serialised items commissioned (Encoded → Commissioned).",
      effect: "The numbers move to Commissioned; lot, expiry and other label properties are stored with them." }),
  F({ type: "pss-sid-destroying", method: "SIDDestroyingEvent", manager: "EventManager", shape: "labelEvent", event: "destroying",
      summary: "Reports items destroyed (→ Destroyed, terminal).",
      effect: "The numbers move to Destroyed; a parent takes everything packed under it along. A packed item alone is refused unless eventContext has unpack: \"true\" (it is taken out of its parent first)." }),
  F({ type: "pss-sid-shipping", method: "SIDShippingEvent", manager: "EventManager", shape: "labelEvent", event: "shipping",
      summary: "Reports items shipped (Commissioned → Released).",
      effect: "The numbers move to Released: they have left production's responsibility. A parent (case, pallet) takes everything packed under it along; a packed item alone is refused (ship the top of its hierarchy)." }),
  F({ type: "pss-sid-inspecting", method: "SIDInspectingEvent", manager: "EventManager", shape: "labelEvent", event: "inspecting",
      summary: "Reports items pulled as samples by inspection (Commissioned → Sampled).",
      effect: "The numbers move to Sampled (the PSS defines inspecting as pulling a pack as a sample; EPCIS: sampling). A check that leaves the pack sellable is pss-labels-inspecting." }),
  F({ type: "pss-sid-decommissioning", method: "SIDDecommissioningEvent", manager: "EventManager", shape: "labelEvent", event: "decommissioning",
      summary: "Reports items decommissioned (→ Inactive).",
      effect: "The numbers move to Inactive; a parent takes everything packed under it along. A packed item alone is refused unless eventContext has unpack: \"true\" (it is taken out of its parent first)." }),
  F({ type: "pss-aggregation-packing", method: "AggregationPackingEvent", manager: "AggregationManager", shape: "aggregation", event: "packing",
      summary: "Reports children packed into parents (cases, pallets).",
      effect: "Each parent gets the listed children; states do not change; every child and parent must be Commissioned." }),
  F({ type: "pss-aggregation-unpacking", method: "AggregationUnpackingEvent", manager: "AggregationManager", shape: "aggregation", event: "unpacking",
      summary: "Reports children removed from parents.",
      effect: "The listed children leave their parents; states do not change." }),
];

export function functionByType(type: string): PssFunction | undefined {
  return PSS_FUNCTIONS.find((f) => f.type === type);
}
