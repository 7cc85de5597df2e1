/* Reading and checking the input arguments of an OPEN-SCS method call. A malformed argument throws CallError,
   which the server answers with its OPC UA status code; the backend never sees the call. */
import { Variant, DataType, VariantArrayType, StatusCodes, StatusCode } from "node-opcua";
import { CodecError, decodeAggregation, decodeLabelCollection } from "../codecs";
import type { KeyValue, Label, LabelCollection } from "../codecs";
import type { Dict } from "../backend";

/** A malformed call: answered with an OPC UA status code, never reaching the backend. */
export class CallError extends Error {
  constructor(readonly statusCode: StatusCode, message: string) {
    super(message);
  }
}

/** A String argument (Null reads as ""). */
export function str(v: Variant, name: string): string {
  if (v.dataType === DataType.Null) return "";
  if (v.dataType !== DataType.String || v.arrayType !== VariantArrayType.Scalar) throw new CallError(StatusCodes.BadInvalidArgument, `${name} must be a String`);
  return (v.value as string | null) ?? "";
}

export function uint32(v: Variant, name: string): number {
  if (v.dataType !== DataType.UInt32 || v.arrayType !== VariantArrayType.Scalar) throw new CallError(StatusCodes.BadInvalidArgument, `${name} must be a UInt32`);
  return v.value as number;
}

function extArray(v: Variant, name: string): unknown[] {
  if (v.dataType === DataType.Null) return [];
  if (v.dataType !== DataType.ExtensionObject || v.arrayType !== VariantArrayType.Array) throw new CallError(StatusCodes.BadInvalidArgument, `${name} must be an array of structures`);
  return Array.from((v.value as unknown[] | null) ?? []);
}

function extScalar(v: Variant, name: string): Record<string, unknown> {
  if (v.dataType !== DataType.ExtensionObject || v.arrayType !== VariantArrayType.Scalar || !v.value) throw new CallError(StatusCodes.BadInvalidArgument, `${name} must be a structure`);
  return v.value as Record<string, unknown>;
}

const isOpaque = (o: Record<string, unknown>): boolean => Buffer.isBuffer(o.buffer) && o.nodeId !== undefined && o.constructor?.name === "OpaqueStructure";

function strField(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (v === null || v === undefined) return "";
  if (typeof v !== "string") throw new CallError(StatusCodes.BadInvalidArgument, `${where}.${key} must be a String`);
  return v;
}

function strArrayField(o: Record<string, unknown>, key: string, where: string): string[] {
  const v = o[key];
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) throw new CallError(StatusCodes.BadInvalidArgument, `${where}.${key} must be an array of String`);
  return v as string[];
}

function keyValues(items: unknown, where: string): KeyValue[] {
  if (items === null || items === undefined) return [];
  if (!Array.isArray(items)) throw new CallError(StatusCodes.BadInvalidArgument, `${where} must be an array of OPENSCSKeyValueDataType`);
  return items.map((it, i) => {
    const o = (it ?? {}) as Record<string, unknown>;
    if (!("key" in o) || !("value" in o)) throw new CallError(StatusCodes.BadInvalidArgument, `${where}[${i}] is not an OPENSCSKeyValueDataType`);
    return { key: strField(o, "key", `${where}[${i}]`), value: strField(o, "value", `${where}[${i}]`) };
  });
}

/** Key-value pairs as a plain object; the keys that would reach an object's prototype are refused. */
export function dict(kvs: KeyValue[], where: string): Dict {
  const d: Dict = Object.create(null);
  for (const kv of kvs) {
    if (kv.key === "__proto__" || kv.key === "constructor" || kv.key === "prototype") throw new CallError(StatusCodes.BadInvalidArgument, `${where} has the forbidden key "${kv.key}"`);
    d[kv.key] = kv.value;
  }
  return { ...d };
}

/** An array of OPENSCSKeyValueDataType argument (PoolSelectionCriteria, an event's context) as a plain object. */
export function dictArg(v: Variant, name: string): Dict {
  return dict(keyValues(extArray(v, name), name), name);
}

export function snCollectionArg(v: Variant, name: string): { id: string; serialNumbers: string[] } {
  const o = extScalar(v, name);
  if (isOpaque(o) || !("serialNumbers" in o) || !("ID" in o)) throw new CallError(StatusCodes.BadInvalidArgument, `${name} is not an OPENSCSSNCollectionDataType`);
  return { id: strField(o, "ID", name), serialNumbers: strArrayField(o, "serialNumbers", name) };
}

function label(o: Record<string, unknown>, where: string): Label {
  return { id: strField(o, "ID", where), labelProperties: keyValues(o.labelProperties, `${where}.LabelProperties`) };
}

function labelCollectionFromObject(o: Record<string, unknown>, where: string): LabelCollection {
  if (!("serialNumbers" in o) || !("labelCollection" in o)) throw new CallError(StatusCodes.BadInvalidArgument, `${where} is not an OPENSCSLabelCollectionDataType`);
  const labels = o.labelCollection;
  if (labels !== null && labels !== undefined && !Array.isArray(labels)) throw new CallError(StatusCodes.BadInvalidArgument, `${where}.LabelCollection must be an array`);
  const lc: LabelCollection = {
    id: strField(o, "ID", where),
    description: strField(o, "description", where),
    state: typeof o.state === "number" ? o.state : 0,
    associatedPoolId: strField(o, "associatedPoolID", where),
    serialNumbers: strArrayField(o, "serialNumbers", where),
    labelCollection: ((labels as unknown[]) ?? []).map((l, i) => label((l ?? {}) as Record<string, unknown>, `${where}.LabelCollection[${i}]`)),
  };
  if (o.labelCollectionProperties !== undefined && o.labelCollectionProperties !== null) lc.labelCollectionProperties = keyValues(o.labelCollectionProperties, `${where}.LabelCollectionProperties`);
  return lc;
}

/** A LabelCollection argument: decoded by node-opcua, or (when node-opcua could not) by our .bsd codec. */
export function labelCollectionArg(v: Variant, name: string): LabelCollection {
  const o = extScalar(v, name);
  if (isOpaque(o)) {
    try {
      return decodeLabelCollection(o.buffer as Buffer);
    } catch (err) {
      throw new CallError(StatusCodes.BadInvalidArgument, err instanceof CodecError ? err.message : `${name} cannot be decoded`);
    }
  }
  return labelCollectionFromObject(o, name);
}

export function aggregationArg(v: Variant, name: string): Array<{ parentElement: Label; parentElementCollection: LabelCollection }> {
  return extArray(v, name).map((it, i) => {
    const o = (it ?? {}) as Record<string, unknown>;
    const where = `${name}[${i}]`;
    if (isOpaque(o)) {
      try {
        return decodeAggregation(o.buffer as Buffer);
      } catch (err) {
        throw new CallError(StatusCodes.BadInvalidArgument, err instanceof CodecError ? err.message : `${where} cannot be decoded`);
      }
    }
    if (!o.parentElement || !o.parentElementCollection) throw new CallError(StatusCodes.BadInvalidArgument, `${where} is not an OPENSCSAggregationDataType`);
    return {
      parentElement: label(o.parentElement as Record<string, unknown>, `${where}.ParentElement`),
      parentElementCollection: labelCollectionFromObject(o.parentElementCollection as Record<string, unknown>, `${where}.ParentElementCollection`),
    };
  });
}

export function argCount(args: Variant[], n: number): void {
  if (args.length < n) throw new CallError(StatusCodes.BadArgumentsMissing, `${n} input arguments expected, ${args.length} given`);
  if (args.length > n) throw new CallError(StatusCodes.BadTooManyArguments, `${n} input arguments expected, ${args.length} given`);
}

/** A call with more items than the server's limit: Bad_OutOfRange. */
export function limit(count: number, max: number, what: string): void {
  if (count > max) throw new CallError(StatusCodes.BadOutOfRange, `${what}: ${count} items given, the server's limit is ${max} per call`);
}

/** Labels events carry their serial numbers in SerialNumbers, or only as label IDs. */
export function serialNumbersOf(lc: LabelCollection): string[] {
  return lc.serialNumbers.length > 0 ? lc.serialNumbers : lc.labelCollection.map((l) => l.id);
}

/** The SNFormat a call names, checked against the formats the server accepts: the ReturnStatus that refuses it, or
    null ("" is SERIALONLY). */
export function formatRefusal(snFormat: string, accepted: readonly string[]): string | null {
  return snFormat === "" || accepted.includes(snFormat) ? null : "InvalidSerialNumbersFormat";
}
