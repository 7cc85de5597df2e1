/* From msg.payload to the arguments of each PSS function shape (functions.ts). One place, every node. */
import { countArg, Dict, isPlainObject, keyValues, optionalString, serialList, MAX_BATCH } from "./args";
import { InputError } from "./errors";
import type { AggregationArgs, CollectionArgs, EventArgs, LabelCollectionIn, RequestArgs } from "./pool-backend";

export interface FunctionDefaults {
  count?: number;
  snFormat?: string;
  snCollectionId?: string;
  context?: Dict;
  /** label events: properties of the label collection the node adds (lot, expiry); the message's own win */
  labelProperties?: Dict;
}

export function parseRequest(p: Record<string, unknown>, d: FunctionDefaults): RequestArgs & { pageAll: boolean } {
  const requestToken = optionalString(p, "requestToken", "");
  return {
    count: countArg(p, "count", d.count),
    snCollectionId: optionalString(p, "snCollectionId", d.snCollectionId ?? ""),
    snFormat: optionalString(p, "snFormat", d.snFormat || "SERIALONLY"),
    poolSelectionCriteria: keyValues(p, "poolSelectionCriteria"),
    requestToken,
    context: keyValues(p, "eventContext", d.context),
    // a caller that passes a token pages by hand; otherwise the node collects every page
    pageAll: requestToken === "",
  };
}

/** snCollection {id, serialNumbers} or the shorthand serialNumbers (+ snCollectionId). */
function collection(p: Record<string, unknown>, d: FunctionDefaults, idRequired: boolean): { id: string; serialNumbers: string[] } {
  let id: string;
  let serials: string[];
  if (p.snCollection !== undefined) {
    if (!isPlainObject(p.snCollection)) throw new InputError("InvalidArgument", "msg.payload.snCollection must be an object {id, serialNumbers}");
    const c = p.snCollection;
    id = optionalString(c, "id", d.snCollectionId ?? "");
    serials = serialList(c.serialNumbers, "msg.payload.snCollection.serialNumbers");
  } else if (p.serialNumbers !== undefined) {
    id = optionalString(p, "snCollectionId", d.snCollectionId ?? "");
    serials = serialList(p.serialNumbers, "msg.payload.serialNumbers");
  } else {
    throw new InputError("MissingSerialNumbers", "msg.payload.snCollection (or msg.payload.serialNumbers) is required");
  }
  if (idRequired && id === "") throw new InputError("InvalidSerialNumberCollection", "msg.payload.snCollection.id is required: name the SN collection the numbers came from");
  return { id, serialNumbers: serials };
}

export function parseCollection(p: Record<string, unknown>, d: FunctionDefaults, operation: "return" | "push"): CollectionArgs {
  return {
    snCollection: collection(p, d, operation === "return"),
    poolSelectionCriteria: keyValues(p, "poolSelectionCriteria"),
    snFormat: optionalString(p, "snFormat", d.snFormat || "SERIALONLY"),
    context: keyValues(p, "eventContext", d.context),
  };
}

export function parseSnEvent(p: Record<string, unknown>, d: FunctionDefaults): EventArgs {
  const c = collection(p, d, false);
  return {
    serialNumbers: c.serialNumbers,
    snFormat: optionalString(p, "snFormat", d.snFormat || "SERIALONLY"),
    context: keyValues(p, "eventContext", d.context),
  };
}

/** The spec's LabelCollection in camelCase: {id, description, serialNumbers, labelCollection: [{id,
    labelProperties}], labelCollectionProperties}. `labels` is accepted for labelCollection. */
export function labelCollection(v: unknown, where: string): { serialNumbers: string[]; lc: LabelCollectionIn } {
  if (!isPlainObject(v)) throw new InputError("InvalidArgument", `${where} must be an object`);
  const labelsRaw = v.labelCollection ?? v.labels;
  const labels: Array<{ id: string; properties?: Dict }> = [];
  if (labelsRaw !== undefined) {
    if (!Array.isArray(labelsRaw)) throw new InputError("InvalidArgument", `${where}.labelCollection must be an array of {id, labelProperties}`);
    if (labelsRaw.length > MAX_BATCH) throw new InputError("BatchTooLarge", `${where}.labelCollection has more than ${MAX_BATCH} labels`);
    labelsRaw.forEach((l, i) => {
      if (!isPlainObject(l)) throw new InputError("InvalidArgument", `${where}.labelCollection[${i}] must be an object {id, labelProperties}`);
      const id = serialList([l.id], `${where}.labelCollection[${i}].id`)[0];
      labels.push({ id, properties: keyValues(l, "labelProperties") });
    });
  }
  let serialNumbers: string[];
  if (v.serialNumbers !== undefined) {
    serialNumbers = serialList(v.serialNumbers, `${where}.serialNumbers`);
    const known = new Set(serialNumbers);
    const stray = labels.filter((l) => !known.has(l.id)).map((l) => l.id);
    if (stray.length) throw new InputError("InvalidArgument", `${where}.labelCollection names serial numbers that are not in serialNumbers: ${stray.slice(0, 5).join(", ")}`);
  } else if (labels.length) {
    serialNumbers = serialList(labels.map((l) => l.id), `${where}.labelCollection ids`);
  } else {
    throw new InputError("MissingSerialNumbers", `${where} has neither serialNumbers nor labelCollection`);
  }
  return {
    serialNumbers,
    lc: {
      id: optionalString(v, "id", ""),
      description: optionalString(v, "description", "", 1024),
      properties: keyValues(v, "labelCollectionProperties"),
      labels,
    },
  };
}

export function parseLabelEvent(p: Record<string, unknown>, d: FunctionDefaults): EventArgs {
  let serialNumbers: string[];
  let lc: LabelCollectionIn;
  if (p.labelCollection !== undefined) {
    ({ serialNumbers, lc } = labelCollection(p.labelCollection, "msg.payload.labelCollection"));
  } else {
    // a request's output (snCollection) or a bare list chains straight into an event node
    const c = collection(p, d, false);
    serialNumbers = c.serialNumbers;
    lc = { id: c.id, properties: keyValues(p, "labelCollectionProperties") };
  }
  if (d.labelProperties) lc = { ...lc, properties: { ...d.labelProperties, ...(lc.properties ?? {}) } };
  return {
    serialNumbers,
    labelCollection: lc,
    snFormat: optionalString(p, "snFormat", d.snFormat || "SERIALONLY"),
    context: keyValues(p, "eventContext", d.context),
  };
}

/** aggregationElement: [{parentElement: {id, labelProperties}, parentElementCollection: LabelCollection}],
    or the shorthand {parent, children}. */
export function parseAggregation(p: Record<string, unknown>, d: FunctionDefaults): AggregationArgs {
  const elements: AggregationArgs["elements"] = [];
  if (p.aggregationElement !== undefined) {
    const list = p.aggregationElement;
    if (!Array.isArray(list) || list.length === 0) throw new InputError("InvalidArgument", "msg.payload.aggregationElement must be a non-empty array");
    if (list.length > 10_000) throw new InputError("BatchTooLarge", "msg.payload.aggregationElement has more than 10000 parents");
    list.forEach((el, i) => {
      const where = `msg.payload.aggregationElement[${i}]`;
      if (!isPlainObject(el) || !isPlainObject(el.parentElement)) throw new InputError("InvalidArgument", `${where}.parentElement must be an object {id, labelProperties}`);
      const parent = serialList([el.parentElement.id], `${where}.parentElement.id`)[0];
      const { serialNumbers, lc } = labelCollection(el.parentElementCollection, `${where}.parentElementCollection`);
      elements.push({ parent, parentProperties: keyValues(el.parentElement, "labelProperties"), children: serialNumbers, childCollection: lc });
    });
  } else if (p.parent !== undefined) {
    const parent = serialList([p.parent], "msg.payload.parent")[0];
    elements.push({ parent, children: serialList(p.children, "msg.payload.children") });
  } else {
    throw new InputError("MissingAggregation", "msg.payload.aggregationElement (or msg.payload.parent and msg.payload.children) is required");
  }
  const seen = new Set<string>();
  for (const el of elements) {
    for (const s of [el.parent, ...el.children]) {
      if (seen.has(s)) throw new InputError("DuplicateInBatch", `serial number ${s} appears twice in one aggregation message`, [{ serialNumber: s, reason: "listed twice" }]);
      seen.add(s);
    }
  }
  return {
    elements,
    parentSnFormat: optionalString(p, "parentSnFormat", d.snFormat || "SERIALONLY"),
    packedElementSnFormat: optionalString(p, "packedElementSnFormat", d.snFormat || "SERIALONLY"),
    context: keyValues(p, "aggregationContext", keyValues(p, "eventContext", d.context)),
  };
}

/** The serial numbers of a message, in whichever shape the PSS nodes use. */
export function serialNumbersOf(p: Record<string, unknown>): string[] {
  if (p.serialNumbers !== undefined) return serialList(p.serialNumbers, "msg.payload.serialNumbers");
  if (p.snCollection !== undefined) {
    if (!isPlainObject(p.snCollection)) throw new InputError("InvalidArgument", "msg.payload.snCollection must be an object {id, serialNumbers}");
    return serialList(p.snCollection.serialNumbers, "msg.payload.snCollection.serialNumbers");
  }
  if (p.labelCollection !== undefined) return labelCollection(p.labelCollection, "msg.payload.labelCollection").serialNumbers;
  throw new InputError("MissingSerialNumbers", "msg.payload.serialNumbers, snCollection or labelCollection is required");
}
