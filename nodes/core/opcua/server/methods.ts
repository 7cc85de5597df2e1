/* The OPEN-SCS methods of the pool, event and aggregation managers, bound to an OpenScsBackend: each call is
   checked for the caller's right, its arguments read (args.ts), handed to the backend, and its result or refusal
   turned into output arguments or a status (status.ts). */
import { Variant, DataType, StatusCodes } from "node-opcua";
import type { AddressSpace, CallMethodResultOptions, ISessionContext, UAObject, UAMethod, UADataType } from "node-opcua";
import { EVENT_METHODS, stateValue } from "../model";
import type { LabelCollection } from "../codecs";
import type { OpenScsBackend, Dict, EventName, AggregationElementIn, RequestTarget, ReturnTarget, PushTarget, SNCollectionOut } from "../backend";
import { POOL_FUNCTIONS, namedState } from "../../lifecycle";
import { AccessControl, callerOf, addressOf, showUser } from "./access";
import { CallError, str, uint32, dict, dictArg, snCollectionArg, labelCollectionArg, aggregationArg, argCount, limit, serialNumbersOf, formatRefusal } from "./args";
import { Family, refusalStatus, faultStatus, returnStatus } from "./status";
import { MODEL_IDS, modelNode } from "./address-space";
import type { OpenScsObjects } from "./address-space";
import type { OpenScsLimits } from "./limits";

/** The PSS event each event-manager method reports. */
export const EVENT_OF_METHOD: Record<string, EventName> = {
  LabelsEncodingEvent: "sn_encoding",
  LabelsInspectingEvent: "label_inspecting",
  LabelsSamplingEvent: "label_sampling",
  LabelsScrappingEvent: "label_scrapping",
  SIDCommissioningEvent: "commissioning",
  SIDDecommissioningEvent: "decommissioning",
  SIDDestroyingEvent: "destroying",
  SIDInspectingEvent: "inspecting",
  SIDShippingEvent: "shipping",
  SNInvalidatingEvent: "sn_invalidating",
};

export interface MethodsInput {
  addressSpace: AddressSpace;
  /** the namespace index of the OPEN-SCS model */
  nsIndex: number;
  objects: Pick<OpenScsObjects, "poolManager" | "eventManager" | "aggregationManager">;
  backend: OpenScsBackend;
  limits: OpenScsLimits;
  /** the SNFormat values accepted */
  snFormats: readonly string[];
  access: AccessControl;
  log: (message: string) => void;
}

/** What a method does once the caller's right is checked: its output arguments, from the input arguments. */
type Handler = (args: Variant[], actor: string) => Promise<Variant[]>;

/** The output arguments of a call refused with a ReturnStatus (the first one is replaced by that status). */
type RefusalOutputs = () => Variant[];

/**
 * Binds one method: the caller needs the method's right (else InsufficientPrivilegeToExecute, after the throttle's
 * delay); a CallError is its status code, a PSS refusal a ReturnStatus of the method's family, any other error a
 * Bad_ status (logged).
 */
function bindMethod(m: Pick<MethodsInput, "nsIndex" | "access" | "log">, obj: UAObject, name: string, family: Family, handler: Handler, outputsOnRefusal: RefusalOutputs): void {
  const method = (obj.getMethodByName(name, m.nsIndex) ?? obj.getMethodByName(name)) as UAMethod | null;
  if (!method) throw new Error(`${obj.browseName.toString()} has no method ${name}`);
  method.bindMethod(async function (this: UAMethod, inputArguments: Variant[], context: ISessionContext): Promise<CallMethodResultOptions> {
    const user = callerOf(context);
    try {
      if (!m.access.may(user, name)) {
        await m.access.refusePrivilege(user, addressOf(context), name);
        return { statusCode: StatusCodes.Good, outputArguments: [returnStatus("InsufficientPrivilegeToExecute"), ...outputsOnRefusal().slice(1)] };
      }
      const outputArguments = await handler(inputArguments, `opcua:${user ?? "anonymous"}`);
      return { statusCode: StatusCodes.Good, outputArguments };
    } catch (err) {
      const who = `${showUser(user)} from ${addressOf(context)}`;
      if (err instanceof CallError) {
        m.log(`OPEN-SCS ${name} refused (${err.statusCode.name}): ${err.message} [${who}]`);
        return { statusCode: err.statusCode };
      }
      if ((err as { code?: unknown })?.code === "InvalidCount") {
        // a Count beyond what the pool hands out in one request: a value outside its range
        m.log(`OPEN-SCS ${name} refused (BadOutOfRange): ${(err as Error).message} [${who}]`);
        return { statusCode: StatusCodes.BadOutOfRange };
      }
      const status = refusalStatus(err, family);
      // a function this backend does not have (packing on PostgreSQL): the ReturnStatus alone would not say why
      if (status && (err as { code?: unknown }).code === "AggregationUnavailable") m.log(`OPEN-SCS ${name} refused (${status}, AggregationUnavailable): ${(err as Error).message} [${showUser(user)} from ${addressOf(context)}]`);
      if (status) return { statusCode: StatusCodes.Good, outputArguments: [returnStatus(status), ...outputsOnRefusal().slice(1)] };
      const fault = faultStatus(err);
      const code = (err as { code?: unknown })?.code;
      const what = err instanceof Error ? (fault === StatusCodes.BadInternalError ? err.stack ?? err.message : err.message) : String(err);
      m.log(`OPEN-SCS ${name} failed (${fault.name}${typeof code === "string" ? `, ${code}` : ""}): ${what} [${who}]`);
      return { statusCode: fault };
    }
  });
}

const statusOnly: RefusalOutputs = () => [returnStatus("Undefined")];
const stringOut = (value: string) => new Variant({ dataType: DataType.String, value });

/** The three requests (SNCollectionID, Count, SNFormat, PoolSelectionCriteria, RequestToken). */
function bindRequests(m: MethodsInput): void {
  const snCollectionType = modelNode<UADataType>(m.addressSpace, m.nsIndex, MODEL_IDS.snCollectionDataType);
  const snCollectionOut = (c: SNCollectionOut) =>
    new Variant({
      dataType: DataType.ExtensionObject,
      value: m.addressSpace.constructExtensionObject(snCollectionType, {
        ID: c.id, description: c.description, state: stateValue(c.state), associatedPoolID: c.associatedPoolId, serialNumbers: c.serialNumbers,
      }),
    });
  const emptyCollection = () => snCollectionOut({ id: "", description: "", state: "Unassigned", associatedPoolId: "", serialNumbers: [] });
  const requestRefusal: RefusalOutputs = () => [returnStatus("Undefined"), emptyCollection(), stringOut("")];

  // the pool functions and their states come from POOL_FUNCTIONS, as for the function nodes and the remote pool
  for (const f of POOL_FUNCTIONS.filter((x) => x.operation === "request")) {
    const target = namedState(f) as RequestTarget;
    bindMethod(m, m.objects.poolManager, f.method, "pool", async (args, actor) => {
      argCount(args, 5);
      const snCollectionId = str(args[0], "SNCollectionID");
      const count = uint32(args[1], "Count");
      const snFormat = str(args[2], "SNFormat");
      const poolSelectionCriteria = dictArg(args[3], "PoolSelectionCriteria");
      const requestToken = str(args[4], "RequestToken");
      if (count === 0) throw new CallError(StatusCodes.BadOutOfRange, "Count must be at least 1");
      const bad = formatRefusal(snFormat, m.snFormats);
      if (bad) return [returnStatus(bad), emptyCollection(), stringOut("")];
      const r = await m.backend.request(target, { snCollectionId, count, snFormat: snFormat || "SERIALONLY", poolSelectionCriteria, requestToken, actor });
      return [returnStatus(r.returnStatus), snCollectionOut(r.snCollection), stringOut(r.returnedRequestToken)];
    }, requestRefusal);
  }
}

type CollectionCall = (a: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria: Dict; snFormat: string; actor: string }) => Promise<{ returnStatus: string }>;

/** Returns and pushes (SNCollection, PoolSelectionCriteria, SNFormat). */
function bindCollections(m: MethodsInput): void {
  const collectionMethod = (name: string, max: number, call: CollectionCall) =>
    bindMethod(m, m.objects.poolManager, name, "pool", async (args, actor) => {
      argCount(args, 3);
      const snCollection = snCollectionArg(args[0], "SNCollection");
      const poolSelectionCriteria = dictArg(args[1], "PoolSelectionCriteria");
      const snFormat = str(args[2], "SNFormat");
      if (snCollection.serialNumbers.length === 0) throw new CallError(StatusCodes.BadInvalidArgument, "SNCollection.SerialNumbers is empty");
      limit(snCollection.serialNumbers.length, max, `${name} SNCollection.SerialNumbers`);
      const bad = formatRefusal(snFormat, m.snFormats);
      if (bad) return [returnStatus(bad)];
      const r = await call({ snCollection, poolSelectionCriteria, snFormat: snFormat || "SERIALONLY", actor });
      return [returnStatus(r.returnStatus)];
    }, statusOnly);
  for (const f of POOL_FUNCTIONS) {
    if (f.operation === "return") collectionMethod(f.method, m.limits.maxSNReturnable, (a) => m.backend.returnSerialNumbers(namedState(f) as ReturnTarget, a));
    else if (f.operation === "push") collectionMethod(f.method, m.limits.maxSNPushable, (a) => m.backend.pushTo(namedState(f) as PushTarget, a));
  }
}

/** The event manager's event methods (LabelCollection or SNCollection, SNFormat, OPENSCSEventContext). */
function bindEvents(m: MethodsInput): void {
  for (const def of EVENT_METHODS) {
    const name = def.name;
    const event = EVENT_OF_METHOD[name];
    const family: Family = name.startsWith("Labels") ? "label" : name.startsWith("SID") ? "sid" : "sn";
    bindMethod(m, m.objects.eventManager, name, family, async (args, actor) => {
      argCount(args, 3);
      let serialNumbers: string[];
      let labelCollection: LabelCollection | undefined;
      if (name === "SNInvalidatingEvent") {
        serialNumbers = snCollectionArg(args[0], "SNCollection").serialNumbers;
      } else {
        labelCollection = labelCollectionArg(args[0], "LabelCollection");
        serialNumbers = serialNumbersOf(labelCollection);
      }
      const snFormat = str(args[1], "SNFormat");
      const context = dictArg(args[2], "OPENSCSEventContext");
      if (serialNumbers.length === 0) throw new CallError(StatusCodes.BadInvalidArgument, `${name}: no serial numbers given`);
      limit(serialNumbers.length, m.limits.maxEvents, `${name} serial numbers`);
      const bad = formatRefusal(snFormat, m.snFormats);
      if (bad) return [returnStatus(bad)];
      const r = await m.backend.applyEvent(event, { serialNumbers, snFormat: snFormat || "SERIALONLY", labelCollection, context, actor });
      return [returnStatus(r.returnStatus)];
    }, statusOnly);
  }
}

/** AggregationPackingEvent and AggregationUnpackingEvent (AggregationElement, ParentSNFormat, PackedElementSNFormat,
    AggregationContext). */
function bindAggregations(m: MethodsInput): void {
  for (const [name, event] of [["AggregationPackingEvent", "packing"], ["AggregationUnpackingEvent", "unpacking"]] as const) {
    bindMethod(m, m.objects.aggregationManager, name, "aggregation", async (args, actor) => {
      argCount(args, 4);
      const elementsIn = aggregationArg(args[0], "AggregationElement");
      const parentSnFormat = str(args[1], "ParentSNFormat");
      const packedElementSnFormat = str(args[2], "PackedElementSNFormat");
      const context = dictArg(args[3], "AggregationContext");
      if (elementsIn.length === 0) throw new CallError(StatusCodes.BadInvalidArgument, `${name}: AggregationElement is empty`);
      limit(elementsIn.length, m.limits.maxAggregationEvents, `${name} AggregationElement`);
      const bad = formatRefusal(parentSnFormat, m.snFormats) ?? formatRefusal(packedElementSnFormat, m.snFormats);
      if (bad) return [returnStatus(bad)];
      const elements: AggregationElementIn[] = elementsIn.map((e, i) => {
        if (!e.parentElement.id) throw new CallError(StatusCodes.BadInvalidArgument, `AggregationElement[${i}].ParentElement.ID is empty`);
        return {
          parent: e.parentElement.id,
          parentProperties: dict(e.parentElement.labelProperties, `AggregationElement[${i}].ParentElement.LabelProperties`),
          children: serialNumbersOf(e.parentElementCollection),
          childCollection: e.parentElementCollection,
        };
      });
      try {
        const r = await m.backend.aggregate(event, { elements, parentSnFormat: parentSnFormat || "SERIALONLY", packedElementSnFormat: packedElementSnFormat || "SERIALONLY", context, actor });
        return [returnStatus(r.returnStatus)];
      } catch (err) {
        // UnknownAggregationSID only when a parent is the unknown one; an unknown child is a refused SID event
        const e = err as { code?: string; details?: Array<{ serialNumber: string }>; message?: string };
        if (e?.code === "UnknownSerialNumber") {
          const parents = new Set(elements.map((x) => x.parent));
          const named = e.details?.map((d) => d.serialNumber) ?? [...parents].filter((p) => e.message?.includes(p));
          return [returnStatus(named.some((sn) => parents.has(sn)) ? "UnknownAggregationSID" : "UnableToAcceptSIDEvents")];
        }
        throw err;
      }
    }, statusOnly);
  }
}

/** Binds every OPEN-SCS method of the three managers (EPCISStream: see epcis-stream.ts). */
export function bindOpenScsMethods(m: MethodsInput): void {
  bindRequests(m);
  bindCollections(m);
  bindEvents(m);
  bindAggregations(m);
}
