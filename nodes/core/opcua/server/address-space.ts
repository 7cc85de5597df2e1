/* The OPEN-SCS instances in a server's address space: Objects/OPENSCSObjects with the pool, event and aggregation
   managers and one object per SID class, their properties set from the limits and the pools served. */
import { Variant, DataType, VariantArrayType, AccessLevelFlag } from "node-opcua";
import type { AddressSpace, NodeId, UAObject, UAObjectType, UAVariable, UADataType } from "node-opcua";
import { EVENT_METHODS } from "../model";
import type { KeyValue } from "../codecs";
import type { Dict, SidClassInfo } from "../backend";
import { getSidClass } from "../../sid";
import type { OpenScsLimits } from "./limits";

/** NodeIds (in the OPEN-SCS namespace) of the model's types the server instantiates or encodes (see model.ts). */
export const MODEL_IDS = {
  snCollectionDataType: 15008,
  keyValueDataType: 15010,
  poolManagerType: 15032,
  eventManagerType: 15062,
  aggregationManagerType: 15094,
  sidClassType: 15102,
} as const;

/** A node of the OPEN-SCS model, by its numeric id. */
export function modelNode<T>(addressSpace: AddressSpace, nsIndex: number, id: number): T {
  const n = addressSpace.findNode(`ns=${nsIndex};i=${id}`);
  if (!n) throw new Error(`the OPEN-SCS model has no node i=${id}`);
  return n as unknown as T;
}

/** The instances under Objects/OPENSCSObjects. */
export interface OpenScsObjects {
  folder: UAObject;
  poolManager: UAObject;
  eventManager: UAObject;
  aggregationManager: UAObject;
  sidClasses: NodeId[];
}

export interface OpenScsObjectsInput {
  addressSpace: AddressSpace;
  /** the namespace index of the OPEN-SCS model */
  nsIndex: number;
  /** the pools served: PoolManager.PoolSelectionCriteria lists each one's PoolID and criteria */
  pools: ReadonlyArray<{ poolId: string; selectionCriteria: Dict }>;
  limits: OpenScsLimits;
  snFormats: readonly string[];
  sidClasses: readonly SidClassInfo[];
}

function resolveSidClass(id: string): SidClassInfo {
  try {
    return getSidClass(id);
  } catch {
    // a class the sid module does not know (a pool file from elsewhere): described by its id alone
    return { sidClassId: id, sidClassOwner: "", syntaxSpecification: "", allowedCharacterSet: "" };
  }
}

/** The SID classes of these pools, described by the sid module. */
export function sidClassesOf(pools: ReadonlyArray<{ sidClass: string }>): SidClassInfo[] {
  return [...new Set(pools.map((p) => p.sidClass))].map(resolveSidClass);
}

/** Sets a property of an instance. */
function setProp(obj: UAObject, nsIndex: number, name: string, value: Variant): void {
  const p = obj.getChildByName(name, nsIndex) as UAVariable | null;
  if (!p) throw new Error(`${obj.browseName.toString()} has no ${name}`);
  p.setValueFromSource(value);
  // limits and descriptions are configuration: read-only to clients (the nodeset allows writing some)
  (p as unknown as { accessLevel: number }).accessLevel = AccessLevelFlag.CurrentRead;
  (p as unknown as { userAccessLevel?: number }).userAccessLevel = AccessLevelFlag.CurrentRead;
}

const u32 = (value: number) => new Variant({ dataType: DataType.UInt32, value });
const s = (value: string) => new Variant({ dataType: DataType.String, value });

/** Creates the OPEN-SCS instances and sets their properties. */
export function addOpenScsObjects(input: OpenScsObjectsInput): OpenScsObjects {
  const { addressSpace, nsIndex, limits } = input;
  const node = <T>(id: number): T => modelNode<T>(addressSpace, nsIndex, id);
  const keyValueType = node<UADataType>(MODEL_IDS.keyValueDataType);
  const own = addressSpace.getOwnNamespace();

  const folder = own.addFolder(addressSpace.rootFolder.objects, { browseName: "OPENSCSObjects", nodeId: "s=OPENSCSObjects" });
  const eventOptionals = [...EVENT_METHODS.map((m) => m.name), "EPCISStream"];
  const poolManager = node<UAObjectType>(MODEL_IDS.poolManagerType).instantiate({ browseName: "PoolManager", organizedBy: folder, nodeId: "s=PoolManager" }) as UAObject;
  const eventManager = node<UAObjectType>(MODEL_IDS.eventManagerType).instantiate({ browseName: "EventManager", organizedBy: folder, optionals: eventOptionals, nodeId: "s=EventManager" }) as UAObject;
  const aggregationManager = node<UAObjectType>(MODEL_IDS.aggregationManagerType).instantiate({ browseName: "AggregationManager", organizedBy: folder, nodeId: "s=AggregationManager" }) as UAObject;

  const criteria: KeyValue[] = [];
  for (const p of input.pools) {
    criteria.push({ key: "PoolID", value: p.poolId });
    for (const [key, value] of Object.entries(p.selectionCriteria)) criteria.push({ key, value });
  }
  setProp(poolManager, nsIndex, "PoolSelectionCriteria", new Variant({
    dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array,
    value: criteria.map((kv) => addressSpace.constructExtensionObject(keyValueType, { key: kv.key, value: kv.value })),
  }));
  setProp(poolManager, nsIndex, "MaxSNPushable", u32(limits.maxSNPushable));
  setProp(poolManager, nsIndex, "MaxSNReturnable", u32(limits.maxSNReturnable));
  setProp(poolManager, nsIndex, "MaxSNRequestable", u32(limits.maxSNRequestable));
  setProp(poolManager, nsIndex, "SNFormat", new Variant({ dataType: DataType.String, arrayType: VariantArrayType.Array, value: [...input.snFormats] }));
  setProp(eventManager, nsIndex, "MaxEvents", u32(limits.maxEvents));
  setProp(eventManager, nsIndex, "MaxEPCISObjectEventSIDs", u32(limits.maxEPCISObjectEventSIDs));
  setProp(eventManager, nsIndex, "MaxEPCISaggregationEvents", u32(limits.maxEPCISaggregationEvents));
  setProp(aggregationManager, nsIndex, "MaxAggregationEvents", u32(limits.maxAggregationEvents));

  const sidClasses: NodeId[] = [];
  for (const c of input.sidClasses) {
    const o = node<UAObjectType>(MODEL_IDS.sidClassType).instantiate({
      browseName: c.sidClassId, organizedBy: folder, optionals: ["SIDClassDescription", "IntendedUse"], nodeId: `s=SIDClass.${c.sidClassId}`,
    }) as UAObject;
    setProp(o, nsIndex, "SIDClassID", s(c.sidClassId));
    setProp(o, nsIndex, "SIDClassOwner", s(c.sidClassOwner));
    setProp(o, nsIndex, "SyntaxSpecification", s(c.syntaxSpecification));
    setProp(o, nsIndex, "AllowedCharacterSet", s(c.allowedCharacterSet));
    setProp(o, nsIndex, "SIDClassDescription", s(c.sidClassDescription ?? ""));
    setProp(o, nsIndex, "IntendedUse", s(c.intendedUse ?? ""));
    sidClasses.push(o.nodeId);
  }
  return { folder, poolManager, eventManager, aggregationManager, sidClasses };
}
