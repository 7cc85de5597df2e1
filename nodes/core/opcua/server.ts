/* The OPEN-SCS OPC UA server: node-opcua loading our generated model, instances under Objects/OPENSCSObjects,
   every method bound to an OpenScsBackend. Business results go in ReturnStatus with call status Good;
   malformed calls get OPC UA status codes. */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import {
  OPCUAServer, OPCUACertificateManager, nodesets, Variant, DataType, VariantArrayType, StatusCodes, StatusCode,
  MessageSecurityMode, SecurityPolicy, NodeId, UserNameIdentityToken, AnonymousIdentityToken, AccessLevelFlag,
} from "node-opcua";
import type { CallMethodResultOptions, ISessionContext, UAObject, UAMethod, UAVariable, UADataType, AddressSpace, UAObjectType } from "node-opcua";
import { generateNodeSet2 } from "./nodeset";
import { NAMESPACE_URI, RETURN_STATUS_NAMES, returnStatusValue, stateValue, EVENT_METHODS } from "./model";
import { CodecError, decodeAggregation, decodeLabelCollection, KeyValue, Label, LabelCollection } from "./codecs";
import { StoreBackend } from "./backend";
import { guardLateConnections } from "./late-connections";
import type { OpenScsBackend, Dict, EventName, SidClassInfo, StoreLike, AggregationElementIn, RequestTarget, ReturnTarget, PushTarget } from "./backend";
import { POOL_FUNCTIONS, namedState } from "../lifecycle";
import { getSidClass } from "../sid";
import { sessionLimits, installSessionLimits, installHandshakeDeadline, Throttle, DEFAULT_THROTTLE, quietDecoderWarnings, scopeCalls } from "./guard";
import type { OpenScsSessionLimits, ThrottleOptions } from "./guard";

export type Role = "reader" | "requester" | "pusher" | "reporter" | "operator" | "admin";
export type Right = "request" | "return" | "push" | "report";

/** What each role may do; a method needs one right (see METHOD_RIGHT). */
export const ROLE_RIGHTS: Record<Role, Right[]> = {
  reader: [],
  requester: ["request", "return"],
  pusher: ["push", "return"],
  reporter: ["report"],
  operator: ["request", "return", "report"],
  admin: ["request", "return", "push", "report"],
};
export const ROLES = Object.keys(ROLE_RIGHTS) as Role[];

export interface OpenScsUser {
  name: string;
  password: string;
  roles: Role[];
}

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

export type SecurityModeName = "None" | "Sign" | "SignAndEncrypt";
export type SecurityPolicyName = "Basic256Sha256" | "Aes128_Sha256_RsaOaep" | "Aes256_Sha256_RsaPss";

export interface OpenScsServerOptions {
  /** the pool store (store contract); or give `backend` directly */
  store?: StoreLike;
  backend?: OpenScsBackend;
  /** TCP port; 0 picks a free one (read it back from server.port) */
  port?: number;
  /** the address to bind; loopback unless configured otherwise */
  host?: string;
  /** the PKI folder (own certificate, trusted and rejected peers); created when absent */
  pkiFolder: string;
  security?: { modes?: SecurityModeName[]; policies?: SecurityPolicyName[] };
  users?: OpenScsUser[];
  /** anonymous sessions (development only); they get `anonymousRoles` (default: every right) */
  allowAnonymous?: boolean;
  anonymousRoles?: Role[];
  /** development only: trust every client certificate presented (default false: trust explicitly) */
  autoAcceptUnknownCertificates?: boolean;
  limits?: Partial<OpenScsLimits>;
  /** the SNFormat values accepted; must include SERIALONLY */
  snFormats?: string[];
  /** the SID classes described under OPENSCSObjects; default: those of the store's pools, from the sid module */
  sidClasses?: SidClassInfo[];
  applicationUri?: string;
  productName?: string;
  /** sessions, session timeout, connections, handshake time (DEFAULT_SESSION_LIMITS) */
  sessionLimits?: Partial<OpenScsSessionLimits>;
  /** the delay after failed logins and refused calls, per user and per address (DEFAULT_THROTTLE) */
  throttle?: Partial<ThrottleOptions>;
  /** where warnings go (default console.warn) */
  log?: (message: string) => void;
}

export interface OpenScsServer {
  readonly endpointUrl: string;
  readonly port: number;
  /** the namespace index of http://opcfoundation.org/UA/OPENSCS-SER/ on this server */
  readonly namespaceIndex: number;
  /** NodeIds of the instances, for clients that do not browse */
  readonly nodes: { poolManager: NodeId; eventManager: NodeId; aggregationManager: NodeId; folder: NodeId; sidClasses: NodeId[] };
  readonly limits: OpenScsLimits;
  readonly sessionLimits: OpenScsSessionLimits;
  /** the server's application certificate (DER), for a client to trust explicitly */
  readonly certificate: Buffer;
  /** trust a client application certificate (DER) */
  trustClientCertificate(der: Buffer): Promise<void>;
  /** the underlying node-opcua server */
  readonly raw: OPCUAServer;
  /** stop accepting calls, close every session and the TCP port; resolves when the port is free */
  shutdown(): Promise<void>;
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

/** Which right each OPEN-SCS method needs. */
export const METHOD_RIGHT: Record<string, Right> = {
  SNRequestUnassigned: "request", SNRequestUnallocated: "request", SNRequestAllocated: "request",
  SNReturnUnallocated: "return", SNReturnAllocated: "return",
  SNtoUnallocated: "push", SNtoAllocated: "push", SNtoEncoded: "push",
  LabelsEncodingEvent: "report", LabelsInspectingEvent: "report", LabelsSamplingEvent: "report", LabelsScrappingEvent: "report",
  SIDCommissioningEvent: "report", SIDDecommissioningEvent: "report", SIDDestroyingEvent: "report", SIDInspectingEvent: "report",
  SIDShippingEvent: "report", SNInvalidatingEvent: "report", AggregationPackingEvent: "report", AggregationUnpackingEvent: "report",
  GenerateFileForWrite: "report", CloseAndCommit: "report",
};

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

/** the caller of a session that is neither anonymous nor a configured user (never matches a user name) */
const NO_USER = "\u0000no-user";

/** A malformed call: answered with an OPC UA status code, never reaching the backend. */
class CallError extends Error {
  constructor(readonly statusCode: StatusCode, message: string) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------------
// Reading arguments

function str(v: Variant, name: string): string {
  if (v.dataType === DataType.Null) return "";
  if (v.dataType !== DataType.String || v.arrayType !== VariantArrayType.Scalar) throw new CallError(StatusCodes.BadInvalidArgument, `${name} must be a String`);
  return (v.value as string | null) ?? "";
}

function uint32(v: Variant, name: string): number {
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

function dict(kvs: KeyValue[], where: string): Dict {
  const d: Dict = Object.create(null);
  for (const kv of kvs) {
    if (kv.key === "__proto__" || kv.key === "constructor" || kv.key === "prototype") throw new CallError(StatusCodes.BadInvalidArgument, `${where} has the forbidden key "${kv.key}"`);
    d[kv.key] = kv.value;
  }
  return { ...d };
}

function snCollectionArg(v: Variant, name: string): { id: string; serialNumbers: string[] } {
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
function labelCollectionArg(v: Variant, name: string): LabelCollection {
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

function aggregationArg(v: Variant, name: string): Array<{ parentElement: Label; parentElementCollection: LabelCollection }> {
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

function argCount(args: Variant[], n: number): void {
  if (args.length < n) throw new CallError(StatusCodes.BadArgumentsMissing, `${n} input arguments expected, ${args.length} given`);
  if (args.length > n) throw new CallError(StatusCodes.BadTooManyArguments, `${n} input arguments expected, ${args.length} given`);
}

function limit(count: number, max: number, what: string): void {
  if (count > max) throw new CallError(StatusCodes.BadOutOfRange, `${what}: ${count} items given, the server's limit is ${max} per call`);
}

/** Labels events carry their serial numbers in SerialNumbers, or only as label IDs. */
function serialNumbersOf(lc: LabelCollection): string[] {
  return lc.serialNumbers.length > 0 ? lc.serialNumbers : lc.labelCollection.map((l) => l.id);
}

// ---------------------------------------------------------------------------------------------------

export type Family = "pool" | "label" | "sid" | "sn" | "aggregation";

/** The codes of PSS rule refusals that are not ReturnStatus names: the store's state guards and identity rules,
    the aggregation rules, the SID class checks. Only these, and the ReturnStatus names, become a ReturnStatus;
    any other error (a locked or full database, an I/O error, a bug) is a Bad_ status and is logged. */
export const PSS_REFUSAL_CODES: ReadonlySet<string> = new Set([
  // store guards and identity rules (nodes/core/store/errors.ts)
  "TransitionForbidden", "UnknownSerialNumber", "DuplicateInBatch", "DuplicateSerialNumber", "UnknownPool",
  "InvalidSerialNumber", "InvalidContext", "TokenExpired", "WrongCollection",
  // aggregation rules (nodes/core/aggregation)
  "InvalidArgument", "Cycle", "EmptyParent", "NotAParent", "NotInParent", "NotTopLevel", "ParentInProgress",
  "AlreadyPacked", "AlreadyInProgress", "CapacityExceeded", "InvalidParent", "MixingRefused", "WrongChildLevel",
  "WrongParentLevel", "WrongParentPool", "AggregationUnavailable",
  // SID class checks of a serial number (nodes/core/sid)
  "BadSerial", "NotGS1",
]);

/** The ReturnStatus for an error the backend threw, or null when it is not a PSS rule refusal. */
export function refusalStatus(err: unknown, family: Family): string | null {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string") return null;
  if (RETURN_STATUS_NAMES.includes(code) && code !== "Undefined" && code !== "NoError") return code;
  // every rule of the store (PssError) is a refusal, whatever its code; storage faults are StoreError, not PssError
  const ruleError = (err as Error).name === "PssError" && code !== "StoreClosed" && code !== "NotAPoolFile";
  if (!PSS_REFUSAL_CODES.has(code) && !ruleError) return null;
  switch (code) {
    case "TokenExpired":
      return "InvalidRequestToken";
    case "UnknownPool":
      return "InvalidSelectionCriteria";
    case "InvalidSerialNumber":
    case "BadSerial":
    case "NotGS1":
      return "InvalidSerialNumbersFormat";
  }
  // a state guard or identity refusal (TransitionForbidden, UnknownSerialNumber, DuplicateInBatch, ...)
  switch (family) {
    case "pool":
      return "InvalidSerialNumberCollection";
    case "label":
      return "UnableToAcceptLabelEvents";
    case "sid":
    case "aggregation":
      return "UnableToAcceptSIDEvents";
    case "sn":
      return "UnableToAcceptSerialNumberEvents";
  }
}

/** The OPC UA status for an error that is not a PSS refusal: the database busy or locked by another process
    (Bad_ResourceUnavailable: try again later), the disk full (Bad_OutOfMemory: call maintenance), a closed store
    (Bad_ResourceUnavailable), anything else Bad_InternalError. */
export function faultStatus(err: unknown): StatusCode {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  const message = typeof e?.message === "string" ? e.message : "";
  if (/^SQLITE_(FULL|IOERR_WRITE)/.test(code) || /^(ENOSPC|EDQUOT)$/.test(code) || /DiskFull|StoreFull/i.test(code) || /database or disk is full/i.test(message)) return StatusCodes.BadOutOfMemory;
  if (/^SQLITE_(BUSY|LOCKED)/.test(code) || /Busy|Locked|StoreClosed/i.test(code) || /database is locked/i.test(message)) return StatusCodes.BadResourceUnavailable;
  return StatusCodes.BadInternalError;
}

const returnStatus = (name: string) => new Variant({ dataType: DataType.Int32, value: returnStatusValue(name) });

function resolveSidClass(id: string): SidClassInfo {
  try {
    return getSidClass(id);
  } catch {
    // a class the sid module does not know (a pool file from elsewhere): described by its id alone
    return { sidClassId: id, sidClassOwner: "", syntaxSpecification: "", allowedCharacterSet: "" };
  }
}

const sleep = (ms: number) => new Promise<void>((r) => (ms > 0 ? setTimeout(r, ms) : r()));

/** A user name for the log: quoted and cut short, so a hostile name cannot forge or flood log lines. */
function showUser(user: string | null): string {
  if (user === null) return "anonymous";
  if (user === NO_USER) return "a certificate user";
  return `user ${JSON.stringify(user.length > 64 ? `${user.slice(0, 64)}…` : user)}`;
}

/** Password check in constant time, so response timing does not leak how much of a guess was right. */
function samePassword(expected: string, given: string): boolean {
  const a = crypto.createHash("sha256").update(expected, "utf8").digest();
  const b = crypto.createHash("sha256").update(String(given ?? ""), "utf8").digest();
  return crypto.timingSafeEqual(a, b);
}

const MODE: Record<SecurityModeName, MessageSecurityMode> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};
const POLICY: Record<SecurityPolicyName, SecurityPolicy> = {
  Basic256Sha256: SecurityPolicy.Basic256Sha256,
  Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
};

/** Start an OPEN-SCS server. Resolves once it listens; `await server.shutdown()` frees the port. */
export async function createOpenScsServer(options: OpenScsServerOptions): Promise<OpenScsServer> {
  const backend = options.backend ?? (options.store ? new StoreBackend(options.store) : undefined);
  if (!backend) throw new Error("createOpenScsServer needs a store or a backend");
  if (!options.pkiFolder) throw new Error("createOpenScsServer needs a pkiFolder (the server's certificates live there)");
  const log = options.log ?? ((m: string) => console.warn(m));
  const host = options.host ?? "127.0.0.1";
  const users = options.users ?? [];
  for (const u of users) {
    for (const r of u.roles) if (!ROLES.includes(r)) throw new Error(`user ${u.name}: unknown role "${r}" (roles: ${ROLES.join(", ")})`);
  }
  const snFormats = options.snFormats ?? ["SERIALONLY"];
  if (!snFormats.includes("SERIALONLY")) throw new Error("snFormats must include SERIALONLY (OPC 30260 requires it)");
  const described = backend.describe();
  const poolMaxRequest = described.pools.map((p) => p.maxRequest).filter((m): m is number => typeof m === "number" && m > 0);
  const limits: OpenScsLimits = {
    ...DEFAULT_LIMITS,
    // a response never holds more than a pool's page, so the advertised limit is the smallest page
    maxSNRequestable: poolMaxRequest.length ? Math.min(DEFAULT_LIMITS.maxSNRequestable, ...poolMaxRequest) : DEFAULT_LIMITS.maxSNRequestable,
    ...Object.fromEntries(Object.entries(options.limits ?? {}).filter(([, v]) => typeof v === "number")),
  };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) throw new Error(`limits.${k} must be an integer from 1 to 4294967295, not ${v}`);
  }
  const modes = (options.security?.modes ?? ["SignAndEncrypt"]).map((m) => MODE[m]);
  const policies = (options.security?.policies ?? ["Basic256Sha256", "Aes128_Sha256_RsaOaep"]).map((p) => POLICY[p]);
  if (modes.includes(MessageSecurityMode.None)) policies.push(SecurityPolicy.None);

  fs.mkdirSync(options.pkiFolder, { recursive: true });
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: path.join(options.pkiFolder, "server"),
    automaticallyAcceptUnknownCertificate: options.autoAcceptUnknownCertificates === true,
  });
  const userCertificateManager = new OPCUACertificateManager({ rootFolder: path.join(options.pkiFolder, "user"), automaticallyAcceptUnknownCertificate: false });
  await serverCertificateManager.initialize();
  await userCertificateManager.initialize();

  const session = sessionLimits(options.sessionLimits);
  let refusePrivilege: (user: string | null, address: string, method: string) => Promise<void> = async () => undefined;

  try {
    return await (async (): Promise<OpenScsServer> => {
      const anonymousRoles = options.anonymousRoles ?? ["admin"];
      const rightsOf = (userName: string | null): Set<Right> => {
        const roles = userName === null ? anonymousRoles : userName === NO_USER ? [] : users.find((u) => u.name === userName)?.roles ?? [];
        return new Set(roles.flatMap((r) => ROLE_RIGHTS[r]));
      };

      // failed logins and refused calls: logged, and answered later and later per user and per address
      const throttleOptions: ThrottleOptions = { ...DEFAULT_THROTTLE, ...Object.fromEntries(Object.entries(options.throttle ?? {}).filter(([, v]) => typeof v === "number")) };
      const logins = new Throttle(throttleOptions);
      const refusals = new Throttle(throttleOptions);
      const checkLogin = async (userName: string, password: string, address: string): Promise<boolean> => {
        const keys = [`user:${userName}`, `address:${address}`];
        await logins.wait(keys);
        const ok = users.some((u) => u.name === userName && samePassword(u.password, password));
        if (ok) {
          logins.succeed(keys);
          return true;
        }
        const { failures, delay } = logins.fail(keys);
        log(`OPEN-SCS login refused: ${showUser(userName)} from ${address} (ActivateSession, wrong user name or password; failure ${failures}, answered after ${delay} ms)`);
        await sleep(delay);
        return false;
      };
      refusePrivilege = async (user: string | null, address: string, method: string): Promise<void> => {
        const keys = [`user:${user ?? "\u0000anonymous"}`, `address:${address}`];
        await refusals.wait(keys);
        const { failures, delay } = refusals.fail(keys);
        log(`OPEN-SCS ${method} refused: ${showUser(user)} from ${address} has no "${METHOD_RIGHT[method]}" right (InsufficientPrivilegeToExecute; refusal ${failures}, answered after ${delay} ms)`);
        await sleep(delay);
      };

      const server = new OPCUAServer({
        port: options.port ?? 4840,
        host,
        hostname: host,
        serverCapabilities: { maxSessions: session.maxSessions },
        maxConnectionsPerEndpoint: session.maxConnections,
        nodesets: [nodesets.standard, { name: "OPENSCS-SER (SerialFlow model)", source: generateNodeSet2() }],
        serverCertificateManager,
        userCertificateManager,
        securityModes: modes,
        securityPolicies: policies,
        allowAnonymous: options.allowAnonymous === true,
        userManager: {
          isValidUserAsync(this: { channel?: { remoteAddress?: string } }, userName: string, password: string, callback: (err: Error | null, ok?: boolean) => void) {
            checkLogin(userName, password, this?.channel?.remoteAddress || "unknown address").then((ok) => callback(null, ok), (err: Error) => callback(err));
          },
        },
        serverInfo: {
          applicationUri: options.applicationUri ?? "urn:serialflow:openscs-server",
          productUri: "urn:serialflow",
          applicationName: { text: options.productName ?? "SerialFlow OPEN-SCS server" },
        },
        buildInfo: { productName: options.productName ?? "SerialFlow OPEN-SCS server", manufacturerName: "SerialFlow" },
        registerServerMethod: 1, // hidden: never announce itself on the network
        isAuditing: false,
      });
      await server.initialize();
      installSessionLimits(server, session, log);
      quietDecoderWarnings();
      scopeCalls(server);

      const addressSpace = server.engine.addressSpace as AddressSpace;
      const nsIndex = addressSpace.getNamespaceIndex(NAMESPACE_URI);
      const own = addressSpace.getOwnNamespace();
      const node = <T>(id: number): T => {
        const n = addressSpace.findNode(`ns=${nsIndex};i=${id}`);
        if (!n) throw new Error(`the OPEN-SCS model has no node i=${id}`);
        return n as unknown as T;
      };
      const snCollectionType = node<UADataType>(15008);
      const keyValueType = node<UADataType>(15010);

      const folder = own.addFolder(addressSpace.rootFolder.objects, { browseName: "OPENSCSObjects", nodeId: "s=OPENSCSObjects" });
      const eventOptionals = [...EVENT_METHODS.map((m) => m.name), "EPCISStream"];
      const poolManager = node<UAObjectType>(15032).instantiate({ browseName: "PoolManager", organizedBy: folder, nodeId: "s=PoolManager" }) as UAObject;
      const eventManager = node<UAObjectType>(15062).instantiate({ browseName: "EventManager", organizedBy: folder, optionals: eventOptionals, nodeId: "s=EventManager" }) as UAObject;
      const aggregationManager = node<UAObjectType>(15094).instantiate({ browseName: "AggregationManager", organizedBy: folder, nodeId: "s=AggregationManager" }) as UAObject;

      const setProp = (obj: UAObject, name: string, value: Variant) => {
        const p = obj.getChildByName(name, nsIndex) as UAVariable | null;
        if (!p) throw new Error(`${obj.browseName.toString()} has no ${name}`);
        p.setValueFromSource(value);
        // limits and descriptions are configuration: read-only to clients (the nodeset allows writing some)
        (p as unknown as { accessLevel: number }).accessLevel = AccessLevelFlag.CurrentRead;
        (p as unknown as { userAccessLevel?: number }).userAccessLevel = AccessLevelFlag.CurrentRead;
      };
      const u32 = (value: number) => new Variant({ dataType: DataType.UInt32, value });
      const criteria: KeyValue[] = [];
      for (const p of described.pools) {
        criteria.push({ key: "PoolID", value: p.poolId });
        for (const [key, value] of Object.entries(p.selectionCriteria)) criteria.push({ key, value });
      }
      setProp(poolManager, "PoolSelectionCriteria", new Variant({
        dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array,
        value: criteria.map((kv) => addressSpace.constructExtensionObject(keyValueType, { key: kv.key, value: kv.value })),
      }));
      setProp(poolManager, "MaxSNPushable", u32(limits.maxSNPushable));
      setProp(poolManager, "MaxSNReturnable", u32(limits.maxSNReturnable));
      setProp(poolManager, "MaxSNRequestable", u32(limits.maxSNRequestable));
      setProp(poolManager, "SNFormat", new Variant({ dataType: DataType.String, arrayType: VariantArrayType.Array, value: snFormats }));
      setProp(eventManager, "MaxEvents", u32(limits.maxEvents));
      setProp(eventManager, "MaxEPCISObjectEventSIDs", u32(limits.maxEPCISObjectEventSIDs));
      setProp(eventManager, "MaxEPCISaggregationEvents", u32(limits.maxEPCISaggregationEvents));
      setProp(aggregationManager, "MaxAggregationEvents", u32(limits.maxAggregationEvents));

      const sidClasses = options.sidClasses ?? [...new Set(described.pools.map((p) => p.sidClass))].map(resolveSidClass);
      const sidClassNodes: NodeId[] = [];
      for (const c of sidClasses) {
        const o = node<UAObjectType>(15102).instantiate({
          browseName: c.sidClassId, organizedBy: folder, optionals: ["SIDClassDescription", "IntendedUse"], nodeId: `s=SIDClass.${c.sidClassId}`,
        }) as UAObject;
        const s = (value: string) => new Variant({ dataType: DataType.String, value });
        setProp(o, "SIDClassID", s(c.sidClassId));
        setProp(o, "SIDClassOwner", s(c.sidClassOwner));
        setProp(o, "SyntaxSpecification", s(c.syntaxSpecification));
        setProp(o, "AllowedCharacterSet", s(c.allowedCharacterSet));
        setProp(o, "SIDClassDescription", s(c.sidClassDescription ?? ""));
        setProp(o, "IntendedUse", s(c.intendedUse ?? ""));
        sidClassNodes.push(o.nodeId);
      }

      /** the user behind a call: null for an anonymous session */
      const callerOf = (context: ISessionContext): string | null => {
        const token = (context.session as { userIdentityToken?: unknown } | undefined)?.userIdentityToken;
        if (token instanceof UserNameIdentityToken) return token.userName ?? "";
        if (token === undefined || token === null || token instanceof AnonymousIdentityToken) return null;
        // any other identity (an X509 user certificate) maps to no configured user: no rights
        return NO_USER;
      };

      const addressOf = (context: ISessionContext): string => {
        const ch = (context.session as { channel?: { remoteAddress?: string } } | undefined)?.channel;
        return ch?.remoteAddress || "unknown address";
      };
      const bind = (obj: UAObject, name: string, family: Family, handler: (args: Variant[], actor: string) => Promise<Variant[]>, outputsOnRefusal: () => Variant[]) => {
        const m = (obj.getMethodByName(name, nsIndex) ?? obj.getMethodByName(name)) as UAMethod | null;
        if (!m) throw new Error(`${obj.browseName.toString()} has no method ${name}`);
        m.bindMethod(async function (this: UAMethod, inputArguments: Variant[], context: ISessionContext): Promise<CallMethodResultOptions> {
          const user = callerOf(context);
          try {
            if (!rightsOf(user).has(METHOD_RIGHT[name])) {
              await refusePrivilege(user, addressOf(context), name);
              return { statusCode: StatusCodes.Good, outputArguments: [returnStatus("InsufficientPrivilegeToExecute"), ...outputsOnRefusal().slice(1)] };
            }
            const outputArguments = await handler(inputArguments, `opcua:${user ?? "anonymous"}`);
            return { statusCode: StatusCodes.Good, outputArguments };
          } catch (err) {
            const who = `${showUser(user)} from ${addressOf(context)}`;
            if (err instanceof CallError) {
              log(`OPEN-SCS ${name} refused (${err.statusCode.name}): ${err.message} [${who}]`);
              return { statusCode: err.statusCode };
            }
            if ((err as { code?: unknown })?.code === "InvalidCount") {
              // a Count beyond what the pool hands out in one request: a value outside its range
              log(`OPEN-SCS ${name} refused (BadOutOfRange): ${(err as Error).message} [${who}]`);
              return { statusCode: StatusCodes.BadOutOfRange };
            }
            const status = refusalStatus(err, family);
            if (status) return { statusCode: StatusCodes.Good, outputArguments: [returnStatus(status), ...outputsOnRefusal().slice(1)] };
            const fault = faultStatus(err);
            const code = (err as { code?: unknown })?.code;
            const what = err instanceof Error ? (fault === StatusCodes.BadInternalError ? err.stack ?? err.message : err.message) : String(err);
            log(`OPEN-SCS ${name} failed (${fault.name}${typeof code === "string" ? `, ${code}` : ""}): ${what} [${who}]`);
            return { statusCode: fault };
          }
        });
      };

      const checkFormat = (snFormat: string): string | null => (snFormat === "" || snFormats.includes(snFormat) ? null : "InvalidSerialNumbersFormat");
      const snCollectionOut = (c: { id: string; description: string; state: string; associatedPoolId: string; serialNumbers: string[] }) =>
        new Variant({
          dataType: DataType.ExtensionObject,
          value: addressSpace.constructExtensionObject(snCollectionType, {
            ID: c.id, description: c.description, state: stateValue(c.state), associatedPoolID: c.associatedPoolId, serialNumbers: c.serialNumbers,
          }),
        });
      const emptyCollection = () => snCollectionOut({ id: "", description: "", state: "Unassigned", associatedPoolId: "", serialNumbers: [] });
      const requestRefusal = () => [returnStatus("Undefined"), emptyCollection(), new Variant({ dataType: DataType.String, value: "" })];
      const statusOnly = () => [returnStatus("Undefined")];

      // Pool manager: the three requests
      // the pool functions and their states come from POOL_FUNCTIONS, as for the function nodes and the remote pool
      for (const f of POOL_FUNCTIONS.filter((x) => x.operation === "request")) {
        const target = namedState(f) as RequestTarget;
        bind(poolManager, f.method, "pool", async (args, actor) => {
          argCount(args, 5);
          const snCollectionId = str(args[0], "SNCollectionID");
          const count = uint32(args[1], "Count");
          const snFormat = str(args[2], "SNFormat");
          const poolSelectionCriteria = dict(keyValues(extArray(args[3], "PoolSelectionCriteria"), "PoolSelectionCriteria"), "PoolSelectionCriteria");
          const requestToken = str(args[4], "RequestToken");
          if (count === 0) throw new CallError(StatusCodes.BadOutOfRange, "Count must be at least 1");
          const bad = checkFormat(snFormat);
          if (bad) return [returnStatus(bad), emptyCollection(), new Variant({ dataType: DataType.String, value: "" })];
          const r = await backend.request(target, { snCollectionId, count, snFormat: snFormat || "SERIALONLY", poolSelectionCriteria, requestToken, actor });
          return [returnStatus(r.returnStatus), snCollectionOut(r.snCollection), new Variant({ dataType: DataType.String, value: r.returnedRequestToken })];
        }, requestRefusal);
      }

      // Pool manager: returns and pushes (SNCollection, PoolSelectionCriteria, SNFormat)
      const collectionMethod = (name: string, max: number, call: (a: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria: Dict; snFormat: string; actor: string }) => Promise<{ returnStatus: string }>) =>
        bind(poolManager, name, "pool", async (args, actor) => {
          argCount(args, 3);
          const snCollection = snCollectionArg(args[0], "SNCollection");
          const poolSelectionCriteria = dict(keyValues(extArray(args[1], "PoolSelectionCriteria"), "PoolSelectionCriteria"), "PoolSelectionCriteria");
          const snFormat = str(args[2], "SNFormat");
          if (snCollection.serialNumbers.length === 0) throw new CallError(StatusCodes.BadInvalidArgument, "SNCollection.SerialNumbers is empty");
          limit(snCollection.serialNumbers.length, max, `${name} SNCollection.SerialNumbers`);
          const bad = checkFormat(snFormat);
          if (bad) return [returnStatus(bad)];
          const r = await call({ snCollection, poolSelectionCriteria, snFormat: snFormat || "SERIALONLY", actor });
          return [returnStatus(r.returnStatus)];
        }, statusOnly);
      for (const f of POOL_FUNCTIONS) {
        if (f.operation === "return") collectionMethod(f.method, limits.maxSNReturnable, (a) => backend.returnSerialNumbers(namedState(f) as ReturnTarget, a));
        else if (f.operation === "push") collectionMethod(f.method, limits.maxSNPushable, (a) => backend.pushTo(namedState(f) as PushTarget, a));
      }

      // Event manager
      for (const m of EVENT_METHODS) {
        const event = EVENT_OF_METHOD[m.name];
        const family: Family = m.name.startsWith("Labels") ? "label" : m.name.startsWith("SID") ? "sid" : "sn";
        bind(eventManager, m.name, family, async (args, actor) => {
          argCount(args, 3);
          let serialNumbers: string[];
          let labelCollection: LabelCollection | undefined;
          if (m.name === "SNInvalidatingEvent") {
            serialNumbers = snCollectionArg(args[0], "SNCollection").serialNumbers;
          } else {
            labelCollection = labelCollectionArg(args[0], "LabelCollection");
            serialNumbers = serialNumbersOf(labelCollection);
          }
          const snFormat = str(args[1], "SNFormat");
          const context = dict(keyValues(extArray(args[2], "OPENSCSEventContext"), "OPENSCSEventContext"), "OPENSCSEventContext");
          if (serialNumbers.length === 0) throw new CallError(StatusCodes.BadInvalidArgument, `${m.name}: no serial numbers given`);
          limit(serialNumbers.length, limits.maxEvents, `${m.name} serial numbers`);
          const bad = checkFormat(snFormat);
          if (bad) return [returnStatus(bad)];
          const r = await backend.applyEvent(event, { serialNumbers, snFormat: snFormat || "SERIALONLY", labelCollection, context, actor });
          return [returnStatus(r.returnStatus)];
        }, statusOnly);
      }

      // Aggregation manager
      for (const [name, event] of [["AggregationPackingEvent", "packing"], ["AggregationUnpackingEvent", "unpacking"]] as const) {
        bind(aggregationManager, name, "aggregation", async (args, actor) => {
          argCount(args, 4);
          const elementsIn = aggregationArg(args[0], "AggregationElement");
          const parentSnFormat = str(args[1], "ParentSNFormat");
          const packedElementSnFormat = str(args[2], "PackedElementSNFormat");
          const context = dict(keyValues(extArray(args[3], "AggregationContext"), "AggregationContext"), "AggregationContext");
          if (elementsIn.length === 0) throw new CallError(StatusCodes.BadInvalidArgument, `${name}: AggregationElement is empty`);
          limit(elementsIn.length, limits.maxAggregationEvents, `${name} AggregationElement`);
          const bad = checkFormat(parentSnFormat) ?? checkFormat(packedElementSnFormat);
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
            const r = await backend.aggregate(event, { elements, parentSnFormat: parentSnFormat || "SERIALONLY", packedElementSnFormat: packedElementSnFormat || "SERIALONLY", context, actor });
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

      installEpcisStream(addressSpace, eventManager, nsIndex, limits, rightsOf, callerOf, backend, log, (context, method) => refusePrivilege(callerOf(context), addressOf(context), method));

      await server.start();
      guardLateConnections(server);
      installHandshakeDeadline(server, session.handshakeTimeout);
      const port = server.endpoints[0].port;
      const endpointUrl = `opc.tcp://${host.includes(":") ? `[${host}]` : host}:${port}`;
      const certificate = Buffer.from(server.getCertificate());
      let stopped: Promise<void> | null = null;

      return {
        endpointUrl,
        port,
        namespaceIndex: nsIndex,
        nodes: { poolManager: poolManager.nodeId, eventManager: eventManager.nodeId, aggregationManager: aggregationManager.nodeId, folder: folder.nodeId, sidClasses: sidClassNodes },
        limits,
        sessionLimits: session,
        certificate,
        raw: server,
        trustClientCertificate: (der: Buffer) => serverCertificateManager.trustCertificate(der),
        shutdown(): Promise<void> {
          stopped ??= (async () => {
            await server.shutdown(0);
            await serverCertificateManager.dispose();
            await userCertificateManager.dispose();
          })();
          return stopped;
        },
      };
    })();
  } catch (err) {
    // a failed start (port in use, bad model) leaves no certificate watcher behind; node-opcua itself leaves no
    // listener when start() fails (checked: no active handle remains after EADDRINUSE)
    await serverCertificateManager.dispose().catch(() => undefined);
    await userCertificateManager.dispose().catch(() => undefined);
    throw err;
  }
}

/** EPCISStream (TemporaryFileTransferType): GenerateFileForWrite opens an in-memory temporary file the client
    writes an EPCIS document into; CloseAndCommit hands it to the backend; GenerateFileForRead always fails. */
function installEpcisStream(
  addressSpace: AddressSpace, eventManager: UAObject, nsIndex: number, limits: OpenScsLimits,
  rightsOf: (user: string | null) => Set<Right>, callerOf: (c: ISessionContext) => string | null, backend: OpenScsBackend, log: (m: string) => void,
  refuse: (context: ISessionContext, method: string) => Promise<void>,
): void {
  const stream = eventManager.getComponentByName("EPCISStream", nsIndex) as UAObject | null;
  if (!stream) throw new Error("EventManager has no EPCISStream");
  const fileType = addressSpace.findObjectType("FileType");
  if (!fileType) throw new Error("the standard nodeset has no FileType");
  const open = new Map<number, { chunks: Buffer[]; size: number; file: UAObject; options: Dict; user: string | null }>();
  let nextHandle = 1;
  const method = (name: string) => {
    const m = (stream.getMethodByName(name) ?? stream.getMethodByName(name, 0)) as UAMethod | null;
    if (!m) throw new Error(`EPCISStream has no ${name}`);
    return m;
  };
  const allowed = (context: ISessionContext) => rightsOf(callerOf(context)).has("report");

  method("GenerateFileForRead").bindMethod(async (_args: Variant[], _context: ISessionContext) => ({ statusCode: StatusCodes.BadNotReadable }));

  method("GenerateFileForWrite").bindMethod(async (args: Variant[], context: ISessionContext): Promise<CallMethodResultOptions> => {
    if (!allowed(context)) {
      await refuse(context, "GenerateFileForWrite");
      return { statusCode: StatusCodes.BadUserAccessDenied };
    }
    try {
      return generateFileForWrite(args, context);
    } catch (err) {
      log(`OPEN-SCS EPCISStream.GenerateFileForWrite failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return { statusCode: StatusCodes.BadInternalError };
    }
  });
  const generateFileForWrite = (args: Variant[], context: ISessionContext): CallMethodResultOptions => {
    if (args.length > 1) return { statusCode: StatusCodes.BadTooManyArguments };
    const options: Dict = {};
    const g = args[0]?.value as Record<string, unknown> | null | undefined;
    if (g && typeof g === "object") {
      for (const k of ["snFormat", "parentSNFormat", "packedElementSNFormat"]) if (typeof g[k] === "string") options[k] = g[k] as string;
      for (const kv of (Array.isArray(g.eventContext) ? g.eventContext : []) as Array<{ key?: unknown; value?: unknown }>) {
        if (typeof kv?.key === "string" && typeof kv.value === "string") options[`context.${kv.key}`] = kv.value;
      }
    }
    const handle = nextHandle++;
    const file = fileType.instantiate({ browseName: `EPCISFile${handle}`, componentOf: stream, nodeId: `s=EPCISStream.File${handle}` }) as UAObject;
    const entry = { chunks: [] as Buffer[], size: 0, file, options, user: callerOf(context) };
    open.set(handle, entry);
    const fm = (name: string) => file.getMethodByName(name, 0) as UAMethod;
    fm("Write").bindMethod(async (wargs: Variant[], _c: ISessionContext): Promise<CallMethodResultOptions> => {
      if (wargs.length !== 2 || wargs[0].value !== handle || !open.has(handle)) return { statusCode: StatusCodes.BadInvalidArgument };
      const data = wargs[1].value as Buffer | null;
      if (wargs[1].dataType !== DataType.ByteString) return { statusCode: StatusCodes.BadInvalidArgument };
      if (data && data.length) {
        if (entry.size + data.length > limits.maxEpcisBytes) return { statusCode: StatusCodes.BadOutOfRange };
        entry.chunks.push(Buffer.from(data));
        entry.size += data.length;
      }
      return { statusCode: StatusCodes.Good };
    });
    fm("Read").bindMethod(async (_a: Variant[], _c: ISessionContext) => ({ statusCode: StatusCodes.BadNotReadable }));
    fm("Open").bindMethod(async (_a: Variant[], _c: ISessionContext) => ({ statusCode: StatusCodes.BadInvalidState }));
    fm("Close").bindMethod(async (cargs: Variant[], _c: ISessionContext) => {
      if (cargs[0]?.value !== handle) return { statusCode: StatusCodes.BadInvalidArgument };
      return { statusCode: StatusCodes.Good };
    });
    fm("GetPosition").bindMethod(async (pargs: Variant[], _c: ISessionContext) => {
      if (pargs[0]?.value !== handle) return { statusCode: StatusCodes.BadInvalidArgument };
      return { statusCode: StatusCodes.Good, outputArguments: [new Variant({ dataType: DataType.UInt64, value: [0, entry.size] })] };
    });
    fm("SetPosition").bindMethod(async (_a: Variant[], _c: ISessionContext) => ({ statusCode: StatusCodes.BadNotSupported }));
    return {
      statusCode: StatusCodes.Good,
      outputArguments: [new Variant({ dataType: DataType.NodeId, value: file.nodeId }), new Variant({ dataType: DataType.UInt32, value: handle })],
    };
  };

  method("CloseAndCommit").bindMethod(async (args: Variant[], context: ISessionContext): Promise<CallMethodResultOptions> => {
    if (!allowed(context)) {
      await refuse(context, "CloseAndCommit");
      return { statusCode: StatusCodes.BadUserAccessDenied };
    }
    if (args.length !== 1 || args[0].dataType !== DataType.UInt32) return { statusCode: StatusCodes.BadInvalidArgument };
    const entry = open.get(args[0].value as number);
    if (!entry) return { statusCode: StatusCodes.BadInvalidArgument };
    open.delete(args[0].value as number);
    addressSpace.deleteNode(entry.file);
    const document = Buffer.concat(entry.chunks);
    if (document.length === 0) return { statusCode: StatusCodes.BadInvalidArgument };
    try {
      await backend.acceptEpcis(document, { options: entry.options, actor: `opcua:${entry.user ?? "anonymous"}` });
    } catch (err) {
      // a locked or full database is not the document's fault
      const fault = faultStatus(err);
      const code = (err as { code?: unknown })?.code;
      if (fault !== StatusCodes.BadInternalError) {
        log(`OPEN-SCS EPCISStream.CloseAndCommit failed (${fault.name}${typeof code === "string" ? `, ${code}` : ""}): ${err instanceof Error ? err.message : String(err)}`);
        return { statusCode: fault };
      }
      log(`OPEN-SCS EPCISStream commit refused: ${err instanceof Error ? err.message : String(err)}`);
      // the pool refused an event (state guard, hierarchy): the document was sound, the pool's state forbids it
      return { statusCode: (err as { code?: string }).code === "ImportRefused" ? StatusCodes.BadInvalidState : StatusCodes.BadInvalidArgument };
    }
    return { statusCode: StatusCodes.Good, outputArguments: [new Variant({ dataType: DataType.NodeId, value: NodeId.nullNodeId })] };
  });
}
