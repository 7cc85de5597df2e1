/* A client of any OPEN-SCS server: typed calls of the 20 methods, and paging helpers that honour the
   server's Max* limits. Every structure argument is encoded by our .bsd codecs and sent as an
   OpaqueStructure, because node-opcua's own client encoder loses LabelCollection fields (docs/opcua.md, "Deviations"). */
import * as path from "path";
import {
  OPCUAClient, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, UserTokenType, Variant, DataType,
  VariantArrayType, NodeId, AttributeIds, BrowseDirection, StatusCodes, resolveNodeId,
} from "node-opcua";
import type { ClientSession, UserIdentityInfo, ReferenceDescription } from "node-opcua";
import { OpaqueStructure } from "node-opcua-extension-object";
import { NAMESPACE_URI, LEGACY_NAMESPACE_URI, returnStatusName, stateName, stateValue, EVENT_METHODS } from "./model";
import {
  AggregationElement, ENCODING_IDS, KeyValue, LabelCollection, SNCollection, decodeSNCollection, encodeAggregation, encodeKeyValue,
  encodeLabelCollection, encodeSNCollection, encodeEventStreamArgument,
} from "./codecs";
import type { SecurityModeName, SecurityPolicyName } from "./server";

import type { Dict, RequestTarget } from "./backend";

export interface ConnectOptions {
  endpointUrl: string;
  user?: string;
  password?: string;
  security?: { mode?: SecurityModeName; policy?: SecurityPolicyName };
  /** the client's PKI folder (its own certificate, trusted servers) */
  pkiFolder: string;
  /** development only: trust any server certificate (default false: trust explicitly) */
  autoAcceptServerCertificate?: boolean;
  /** the server certificate (DER) to trust before connecting */
  trustServerCertificate?: Buffer;
  /** connection attempts before giving up (the first connection and every reconnection); default 3 */
  maxRetry?: number;
  applicationName?: string;
}

export interface OpenScsLimitsRead {
  maxSNRequestable: number;
  maxSNReturnable: number;
  maxSNPushable: number;
  maxEvents: number;
  maxAggregationEvents: number;
}

export interface SNCollectionResult {
  id: string;
  description: string;
  /** the state name (Unassigned, Unallocated, Allocated, ...) */
  state: string;
  associatedPoolId: string;
  serialNumbers: string[];
}

export interface RequestResultOut {
  /** the ReturnStatus name without its numeric suffix (NoError, InsufficientSerialNumbers, ...) */
  returnStatus: string;
  snCollection: SNCollectionResult;
  returnedRequestToken: string;
}

export interface RequestIn {
  snCollectionId?: string;
  count: number;
  snFormat?: string;
  poolSelectionCriteria?: Dict;
  requestToken?: string;
}

export interface CollectionIn {
  snCollection: { id?: string; description?: string; state?: string; associatedPoolId?: string; serialNumbers: string[] };
  poolSelectionCriteria?: Dict;
  snFormat?: string;
}

/** A label collection given as plain data: `labels` default to one label per serial number. */
export interface LabelCollectionIn {
  id?: string;
  description?: string;
  state?: string;
  associatedPoolId?: string;
  serialNumbers: string[];
  labels?: Array<{ id: string; properties?: Dict }>;
  properties?: Dict;
}

export interface EventIn {
  labelCollection: LabelCollectionIn;
  snFormat?: string;
  context?: Dict;
}

export interface AggregationIn {
  elements: Array<{ parent: string; parentProperties?: Dict; children: LabelCollectionIn }>;
  parentSnFormat?: string;
  packedElementSnFormat?: string;
  context?: Dict;
}

/** A call the server answered with a Bad status code (a malformed call, a refused batch, ...). */
export class OpenScsCallError extends Error {
  readonly code = "CallFailed";
  constructor(readonly method: string, readonly statusCode: string) {
    super(`OPEN-SCS ${method} failed with ${statusCode}`);
    this.name = "OpenScsCallError";
  }
}

export type EventMethod =
  | "LabelsEncodingEvent" | "LabelsInspectingEvent" | "LabelsSamplingEvent" | "LabelsScrappingEvent"
  | "SIDCommissioningEvent" | "SIDDecommissioningEvent" | "SIDDestroyingEvent" | "SIDInspectingEvent" | "SIDShippingEvent";

const toKeyValues = (d: Dict | undefined): KeyValue[] => Object.entries(d ?? {}).map(([key, value]) => ({ key, value }));

export function labelCollectionOf(lc: LabelCollectionIn): LabelCollection {
  return {
    id: lc.id ?? "",
    description: lc.description ?? "",
    state: stateValue(lc.state ?? "Unassigned"),
    associatedPoolId: lc.associatedPoolId ?? "",
    serialNumbers: lc.serialNumbers,
    labelCollection: (lc.labels ?? lc.serialNumbers.map((id): { id: string; properties?: Dict } => ({ id }))).map((l) => ({ id: l.id, labelProperties: toKeyValues(l.properties) })),
    labelCollectionProperties: lc.properties ? toKeyValues(lc.properties) : undefined,
  };
}

export class OpenScsClient {
  private methodIds = new Map<string, { objectId: NodeId; methodId: NodeId }>();
  private limitsCache: OpenScsLimitsRead | null = null;
  private managers: { pool?: NodeId; event?: NodeId; aggregation?: NodeId } = {};

  constructor(readonly client: OPCUAClient, readonly session: ClientSession, readonly namespaceIndex: number, private readonly cm: OPCUACertificateManager) {}

  private opaque(encodingId: number, body: Buffer): OpaqueStructure {
    return new OpaqueStructure(new NodeId(NodeId.NodeIdType.NUMERIC, encodingId, this.namespaceIndex), body);
  }
  private keyValues(d: Dict | undefined): Variant {
    return new Variant({ dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: toKeyValues(d).map((kv) => this.opaque(ENCODING_IDS.keyValue, encodeKeyValue(kv))) });
  }
  private string(s: string | undefined): Variant {
    return new Variant({ dataType: DataType.String, value: s ?? "" });
  }
  private snCollection(c: CollectionIn["snCollection"]): Variant {
    const body: SNCollection = { id: c.id ?? "", description: c.description ?? "", state: stateValue(c.state ?? "Unassigned"), associatedPoolId: c.associatedPoolId ?? "", serialNumbers: c.serialNumbers };
    return new Variant({ dataType: DataType.ExtensionObject, value: this.opaque(ENCODING_IDS.snCollection, encodeSNCollection(body)) });
  }

  /** the OPENSCSObjects instances, found by their type definition (any server's naming works) */
  private async discover(): Promise<void> {
    if (this.managers.pool || this.managers.event || this.managers.aggregation) return;
    const objects = await this.browse(resolveNodeId("ObjectsFolder"));
    const folder = objects.find((r) => r.browseName.name === "OPENSCSObjects");
    const candidates = folder ? await this.browse(folder.nodeId) : objects;
    for (const r of candidates) {
      const td = r.typeDefinition;
      if (td.namespace !== this.namespaceIndex) continue;
      if (td.value === 15032) this.managers.pool ??= r.nodeId;
      if (td.value === 15062) this.managers.event ??= r.nodeId;
      if (td.value === 15094) this.managers.aggregation ??= r.nodeId;
    }
  }

  private async browse(nodeId: NodeId): Promise<ReferenceDescription[]> {
    const r = await this.session.browse({ nodeId, browseDirection: BrowseDirection.Forward, includeSubtypes: true, resultMask: 63, referenceTypeId: "HierarchicalReferences" });
    return r.references ?? [];
  }

  /** The object and method NodeIds of an OPEN-SCS method on this server (found by browsing, then cached). */
  async resolveMethod(manager: "pool" | "event" | "aggregation", name: string): Promise<{ objectId: NodeId; methodId: NodeId }> {
    const key = `${manager}.${name}`;
    const known = this.methodIds.get(key);
    if (known) return known;
    await this.discover();
    const objectId = this.managers[manager];
    if (!objectId) throw new OpenScsCallError(name, `no OPEN-SCS ${manager} manager on the server`);
    const child = (await this.browse(objectId)).find((r) => r.browseName.name === name);
    if (!child) throw new OpenScsCallError(name, "BadMethodInvalid (the server does not offer this method)");
    const ids = { objectId, methodId: child.nodeId };
    this.methodIds.set(key, ids);
    return ids;
  }

  private async call(manager: "pool" | "event" | "aggregation", name: string, inputArguments: Variant[]): Promise<Variant[]> {
    const ids = await this.resolveMethod(manager, name);
    const r = await this.session.call({ ...ids, inputArguments });
    if (r.statusCode.value !== StatusCodes.Good.value) throw new OpenScsCallError(name, r.statusCode.name);
    return r.outputArguments ?? [];
  }

  /** The Max* properties of the server's managers (read once per connection). */
  async limits(): Promise<OpenScsLimitsRead> {
    if (this.limitsCache) return this.limitsCache;
    await this.discover();
    const read = async (manager: NodeId | undefined, name: string): Promise<number> => {
      if (!manager) return 0;
      const child = (await this.browse(manager)).find((r) => r.browseName.name === name);
      if (!child) return 0;
      const dv = await this.session.read({ nodeId: child.nodeId, attributeId: AttributeIds.Value });
      return typeof dv.value.value === "number" ? dv.value.value : 0;
    };
    this.limitsCache = {
      maxSNRequestable: await read(this.managers.pool, "MaxSNRequestable"),
      maxSNReturnable: await read(this.managers.pool, "MaxSNReturnable"),
      maxSNPushable: await read(this.managers.pool, "MaxSNPushable"),
      maxEvents: await read(this.managers.event, "MaxEvents"),
      maxAggregationEvents: await read(this.managers.aggregation, "MaxAggregationEvents"),
    };
    return this.limitsCache;
  }

  /** SNRequestUnassigned / SNRequestUnallocated / SNRequestAllocated: one call, one page. */
  async snRequest(target: RequestTarget, a: RequestIn): Promise<RequestResultOut> {
    const out = await this.call("pool", `SNRequest${target}`, [
      this.string(a.snCollectionId),
      new Variant({ dataType: DataType.UInt32, value: a.count }),
      this.string(a.snFormat ?? "SERIALONLY"),
      this.keyValues(a.poolSelectionCriteria),
      this.string(a.requestToken),
    ]);
    return { returnStatus: returnStatusName(out[0]?.value as number), snCollection: snCollectionResult(out[1]?.value), returnedRequestToken: (out[2]?.value as string | null) ?? "" };
  }

  /** Every page of a request: follows ReturnedRequestToken until the server says it is finished. */
  async requestAll(target: RequestTarget, a: Omit<RequestIn, "requestToken">, onPage?: (page: RequestResultOut) => void): Promise<{ returnStatus: string; serialNumbers: string[]; snCollectionId: string; pages: number }> {
    const serialNumbers: string[] = [];
    let token = "";
    let pages = 0;
    let last: RequestResultOut;
    do {
      last = await this.snRequest(target, { ...a, requestToken: token });
      pages++;
      if (last.returnStatus !== "NoError" && last.returnStatus !== "InsufficientSerialNumbers") break;
      for (const s of last.snCollection.serialNumbers) serialNumbers.push(s);
      onPage?.(last);
      token = last.returnedRequestToken;
    } while (token !== "" && serialNumbers.length < a.count);
    return { returnStatus: last.returnStatus, serialNumbers, snCollectionId: last.snCollection.id, pages };
  }

  async snReturn(target: "Unallocated" | "Allocated", a: CollectionIn): Promise<{ returnStatus: string }> {
    return this.collectionCall(`SNReturn${target}`, a);
  }

  async snTo(target: "Unallocated" | "Allocated" | "Encoded", a: CollectionIn): Promise<{ returnStatus: string }> {
    return this.collectionCall(`SNto${target}`, a);
  }

  /** SNReturn* / SNto* for any number of serial numbers: calls of at most MaxSNReturnable / MaxSNPushable each.
      Stops at the first refusal and says how many were accepted before it. */
  async collectionAll(method: "SNReturnUnallocated" | "SNReturnAllocated" | "SNtoUnallocated" | "SNtoAllocated" | "SNtoEncoded", a: CollectionIn): Promise<{ returnStatus: string; accepted: number; calls: number }> {
    const l = await this.limits();
    const max = Math.max(1, method.startsWith("SNReturn") ? l.maxSNReturnable : l.maxSNPushable);
    let accepted = 0;
    let calls = 0;
    for (let i = 0; i < a.snCollection.serialNumbers.length; i += max) {
      const chunk = a.snCollection.serialNumbers.slice(i, i + max);
      const r = await this.collectionCall(method, { ...a, snCollection: { ...a.snCollection, serialNumbers: chunk } });
      calls++;
      if (r.returnStatus !== "NoError") return { returnStatus: r.returnStatus, accepted, calls };
      accepted += chunk.length;
    }
    return { returnStatus: "NoError", accepted, calls };
  }

  private async collectionCall(name: string, a: CollectionIn): Promise<{ returnStatus: string }> {
    const out = await this.call("pool", name, [this.snCollection(a.snCollection), this.keyValues(a.poolSelectionCriteria), this.string(a.snFormat ?? "SERIALONLY")]);
    return { returnStatus: returnStatusName(out[0]?.value as number) };
  }

  /** One of the nine Labels* / SID* events. */
  async event(method: EventMethod, a: EventIn): Promise<{ returnStatus: string }> {
    const body = encodeLabelCollection(labelCollectionOf(a.labelCollection));
    const out = await this.call("event", method, [
      new Variant({ dataType: DataType.ExtensionObject, value: this.opaque(ENCODING_IDS.labelCollection, body) }),
      this.string(a.snFormat ?? "SERIALONLY"),
      this.keyValues(a.context),
    ]);
    return { returnStatus: returnStatusName(out[0]?.value as number) };
  }

  async snInvalidating(a: { snCollection: CollectionIn["snCollection"]; snFormat?: string; context?: Dict }): Promise<{ returnStatus: string }> {
    const out = await this.call("event", "SNInvalidatingEvent", [this.snCollection(a.snCollection), this.string(a.snFormat ?? "SERIALONLY"), this.keyValues(a.context)]);
    return { returnStatus: returnStatusName(out[0]?.value as number) };
  }

  async aggregation(event: "packing" | "unpacking", a: AggregationIn): Promise<{ returnStatus: string }> {
    const elements = a.elements.map((e): AggregationElement => ({
      parentElement: { id: e.parent, labelProperties: toKeyValues(e.parentProperties) },
      parentElementCollection: labelCollectionOf(e.children),
    }));
    const out = await this.call("aggregation", event === "packing" ? "AggregationPackingEvent" : "AggregationUnpackingEvent", [
      new Variant({ dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: elements.map((e) => this.opaque(ENCODING_IDS.aggregation, encodeAggregation(e))) }),
      this.string(a.parentSnFormat ?? "SERIALONLY"),
      this.string(a.packedElementSnFormat ?? "SERIALONLY"),
      this.keyValues(a.context),
    ]);
    return { returnStatus: returnStatusName(out[0]?.value as number) };
  }

  /** Upload an EPCIS document through EventManager.EPCISStream (GenerateFileForWrite, Write, CloseAndCommit). */
  async uploadEpcis(document: Buffer, options: { snFormat?: string; parentSnFormat?: string; packedElementSnFormat?: string; context?: Dict } = {}, chunkSize = 64 * 1024): Promise<void> {
    await this.discover();
    if (!this.managers.event) throw new OpenScsCallError("EPCISStream", "no OPEN-SCS event manager on the server");
    const stream = (await this.browse(this.managers.event)).find((r) => r.browseName.name === "EPCISStream");
    if (!stream) throw new OpenScsCallError("EPCISStream", "BadMethodInvalid (the server does not offer EPCISStream)");
    const methods = await this.browse(stream.nodeId);
    const id = (n: string) => {
      const m = methods.find((r) => r.browseName.name === n);
      if (!m) throw new OpenScsCallError(n, "BadMethodInvalid");
      return m.nodeId;
    };
    const gen = await this.session.call({ objectId: stream.nodeId, methodId: id("GenerateFileForWrite"), inputArguments: [
      new Variant({
        dataType: DataType.ExtensionObject,
        value: this.opaque(ENCODING_IDS.eventStreamArgument, encodeEventStreamArgument({
          snFormat: options.snFormat ?? "SERIALONLY", parentSNFormat: options.parentSnFormat ?? "", packedElementSNFormat: options.packedElementSnFormat ?? "", eventContext: toKeyValues(options.context),
        })),
      }),
    ] });
    if (gen.statusCode.value !== 0) throw new OpenScsCallError("GenerateFileForWrite", gen.statusCode.name);
    const fileId = gen.outputArguments![0].value as NodeId;
    const handle = gen.outputArguments![1].value as number;
    const write = (await this.browse(fileId)).find((r) => r.browseName.name === "Write");
    if (!write) throw new OpenScsCallError("Write", "BadMethodInvalid");
    for (let i = 0; i < document.length; i += chunkSize) {
      const w = await this.session.call({
        objectId: fileId, methodId: write.nodeId,
        inputArguments: [new Variant({ dataType: DataType.UInt32, value: handle }), new Variant({ dataType: DataType.ByteString, value: document.subarray(i, i + chunkSize) })],
      });
      if (w.statusCode.value !== 0) throw new OpenScsCallError("Write", w.statusCode.name);
    }
    const c = await this.session.call({ objectId: stream.nodeId, methodId: id("CloseAndCommit"), inputArguments: [new Variant({ dataType: DataType.UInt32, value: handle })] });
    if (c.statusCode.value !== 0) throw new OpenScsCallError("CloseAndCommit", c.statusCode.name);
  }

  /** The client's application certificate (DER), for the server to trust explicitly. */
  get certificate(): Buffer {
    return Buffer.from(this.client.getCertificate());
  }

  private closing: Promise<void> | null = null;

  /** Close the session and the connection; a second call waits for the first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.session.close();
      } catch {
        // the session may already be gone with its connection: disconnecting is what matters
      } finally {
        await this.client.disconnect();
        await this.cm.dispose();
      }
    })();
    return this.closing;
  }
}

function snCollectionResult(v: unknown): SNCollectionResult {
  if (v instanceof OpaqueStructure) {
    const c = decodeSNCollection(v.buffer);
    return { ...c, state: stateName(c.state) };
  }
  const o = (v ?? {}) as Record<string, unknown>;
  return {
    id: (o.ID as string) ?? "",
    description: (o.description as string) ?? "",
    state: stateName((o.state as number) ?? 0),
    associatedPoolId: (o.associatedPoolID as string) ?? "",
    serialNumbers: Array.isArray(o.serialNumbers) ? (o.serialNumbers as string[]) : [],
  };
}

const MODES: Record<SecurityModeName, MessageSecurityMode> = { None: MessageSecurityMode.None, Sign: MessageSecurityMode.Sign, SignAndEncrypt: MessageSecurityMode.SignAndEncrypt };
const POLICIES: Record<SecurityPolicyName, SecurityPolicy> = {
  Basic256Sha256: SecurityPolicy.Basic256Sha256, Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
};

async function makeClient(options: Omit<ConnectOptions, "endpointUrl">): Promise<{ client: OPCUAClient; cm: OPCUACertificateManager }> {
  const mode = options.security?.mode ?? "SignAndEncrypt";
  const cm = new OPCUACertificateManager({ rootFolder: path.join(options.pkiFolder, "client"), automaticallyAcceptUnknownCertificate: options.autoAcceptServerCertificate === true });
  await cm.initialize();
  if (options.trustServerCertificate) await cm.trustCertificate(options.trustServerCertificate);
  const client = OPCUAClient.create({
    applicationName: options.applicationName ?? "SerialFlow OPEN-SCS client",
    applicationUri: "urn:serialflow:openscs-client",
    clientCertificateManager: cm,
    securityMode: MODES[mode],
    securityPolicy: mode === "None" ? SecurityPolicy.None : POLICIES[options.security?.policy ?? "Basic256Sha256"],
    endpointMustExist: false,
    connectionStrategy: { maxRetry: options.maxRetry ?? 3, initialDelay: 200, maxDelay: 2000 },
    keepSessionAlive: true,
  });
  return { client, cm };
}

/** The client application certificate (DER) of a PKI folder, created when absent: give it to the server's
    operator to trust (server.trustClientCertificate) before the first secure connection. */
export async function clientCertificate(pkiFolder: string): Promise<Buffer> {
  const { client, cm } = await makeClient({ pkiFolder });
  try {
    // node-opcua creates the certificate on first connect; created here so it can be trusted beforehand
    await (client as unknown as { createDefaultCertificate(): Promise<void> }).createDefaultCertificate();
    return Buffer.from(client.getCertificate());
  } finally {
    await cm.dispose();
  }
}

/** Connect to an OPEN-SCS server and open a session (user name and password, or anonymous). */
export async function connectOpenScs(options: ConnectOptions): Promise<OpenScsClient> {
  const { client, cm } = await makeClient(options);
  try {
    await client.connect(options.endpointUrl);
    const identity: UserIdentityInfo = options.user !== undefined
      ? { type: UserTokenType.UserName, userName: options.user, password: options.password ?? "" }
      : { type: UserTokenType.Anonymous };
    const session = await client.createSession(identity);
    const nsArray = await session.readNamespaceArray();
    let ns = nsArray.indexOf(NAMESPACE_URI);
    if (ns < 0) ns = nsArray.indexOf(LEGACY_NAMESPACE_URI);
    if (ns < 0) {
      await session.close();
      throw new Error(`${options.endpointUrl} is not an OPEN-SCS server: its NamespaceArray has no ${NAMESPACE_URI}`);
    }
    return new OpenScsClient(client, session, ns, cm);
  } catch (err) {
    await client.disconnect().catch(() => undefined);
    await cm.dispose().catch(() => undefined);
    throw err;
  }
}

export const EVENT_METHOD_NAMES = EVENT_METHODS.map((m) => m.name);
