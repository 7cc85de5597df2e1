/* A pool on another OPEN-SCS server, with the call shapes of the local store (request, returnSerialNumbers,
   pushTo, applyEvent, aggregate): the seam the remote mode of pss-pool plugs into. Batches are split to the
   server's Max* limits; refusals throw an error whose `code` is the ReturnStatus name. */
import { connectOpenScs, ConnectOptions, OpenScsClient, OpenScsLimitsRead, EventMethod, LabelCollectionIn } from "./client";
import { EVENT_OF_METHOD } from "./server";
import { stateName } from "./model";
import type { Dict, EventName, RequestTarget, ReturnTarget, PushTarget, RequestResult } from "./backend";
import type { LabelCollection } from "./codecs";
import { poolFunctionFor, type PoolOperation } from "../lifecycle";

export class RemotePoolError extends Error {
  constructor(readonly code: string, message: string, readonly accepted = 0) {
    super(message);
    this.name = "RemotePoolError";
  }
}

const METHOD_OF_EVENT: Record<string, string> = Object.fromEntries(Object.entries(EVENT_OF_METHOD).map(([m, e]) => [e, m]));

/** The label collection of one chunk: its serial numbers, and only the labels of those numbers. */
function labelCollectionIn(serialNumbers: string[], lc?: LabelCollection | { id?: string; description?: string; properties?: Dict; labels?: Array<{ id: string; properties?: Dict }> }): LabelCollectionIn {
  if (!lc) return { serialNumbers };
  const inChunk = new Set(serialNumbers);
  if ("labelCollection" in lc) {
    return {
      id: lc.id, description: lc.description, state: stateName(lc.state), associatedPoolId: lc.associatedPoolId, serialNumbers,
      labels: lc.labelCollection.filter((l) => inChunk.has(l.id)).map((l) => ({ id: l.id, properties: Object.fromEntries(l.labelProperties.map((kv) => [kv.key, kv.value])) })),
      properties: lc.labelCollectionProperties ? Object.fromEntries(lc.labelCollectionProperties.map((kv) => [kv.key, kv.value])) : undefined,
    };
  }
  return { id: lc.id, description: lc.description, serialNumbers, labels: lc.labels?.filter((l) => inChunk.has(l.id)), properties: lc.properties };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += Math.max(1, size)) out.push(items.slice(i, i + Math.max(1, size)));
  return out;
}

export class RemotePool {
  private constructor(readonly client: OpenScsClient, readonly limits: OpenScsLimitsRead, private readonly criteria: Dict) {}

  /** Connect and read the server's Max* limits. `poolSelectionCriteria` select the remote pool when a call gives none. */
  static async connect(options: ConnectOptions & { poolSelectionCriteria?: Dict }): Promise<RemotePool> {
    const client = await connectOpenScs(options);
    try {
      return new RemotePool(client, await client.limits(), options.poolSelectionCriteria ?? {});
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  }

  /** the largest page one request returns */
  get maxPage(): number {
    return this.limits.maxSNRequestable;
  }

  private crit(c: Dict | undefined): Dict {
    return c && Object.keys(c).length ? c : this.criteria;
  }

  private static check(method: string, returnStatus: string, accepted = 0): void {
    if (returnStatus !== "NoError") throw new RemotePoolError(returnStatus, `remote OPEN-SCS ${method} refused: ${returnStatus}${accepted ? ` (after ${accepted} serial numbers were accepted in earlier calls)` : ""}`, accepted);
  }

  /** The OPEN-SCS method of a pool operation on its named state (POOL_FUNCTIONS: a return names its source). */
  private static method<M extends string>(operation: PoolOperation, state: string): M {
    const f = poolFunctionFor(operation, state);
    if (!f) throw new RemotePoolError("InvalidEvent", `no OPEN-SCS pool function ${operation}s ${JSON.stringify(state)} serial numbers`);
    return f.method as M;
  }

  /** One page, as the local store's request: follow returnedRequestToken for more. */
  async request(target: RequestTarget, a: { count: number; snCollectionId?: string; snFormat?: string; poolSelectionCriteria?: Dict; requestToken?: string }): Promise<RequestResult> {
    const method = RemotePool.method("request", target);
    const r = await this.client.snRequest(target, { ...a, poolSelectionCriteria: this.crit(a.poolSelectionCriteria) });
    if (r.returnStatus !== "InsufficientSerialNumbers") RemotePool.check(method, r.returnStatus);
    return { returnStatus: r.returnStatus, snCollection: r.snCollection, returnedRequestToken: r.returnedRequestToken };
  }

  async returnSerialNumbers(target: ReturnTarget, a: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria?: Dict; snFormat?: string }): Promise<{ returnStatus: string }> {
    const method = RemotePool.method<Parameters<OpenScsClient["collectionAll"]>[0]>("return", target);
    const r = await this.client.collectionAll(method, { ...a, poolSelectionCriteria: this.crit(a.poolSelectionCriteria) });
    RemotePool.check(method, r.returnStatus, r.accepted);
    return { returnStatus: "NoError" };
  }

  async pushTo(target: PushTarget, a: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria?: Dict; snFormat?: string }): Promise<{ returnStatus: string }> {
    const method = RemotePool.method<Parameters<OpenScsClient["collectionAll"]>[0]>("push", target);
    const r = await this.client.collectionAll(method, { ...a, poolSelectionCriteria: this.crit(a.poolSelectionCriteria) });
    RemotePool.check(method, r.returnStatus, r.accepted);
    return { returnStatus: "NoError" };
  }

  /** A PSS event (store names: sn_encoding, commissioning, ...), in calls of at most MaxEvents numbers. */
  async applyEvent(event: EventName, a: { serialNumbers: string[]; snFormat?: string; labelCollection?: LabelCollection | { id?: string; description?: string; properties?: Dict; labels?: Array<{ id: string; properties?: Dict }> }; context?: Dict }): Promise<{ returnStatus: string; applied: number; anomalies: number }> {
    const method = METHOD_OF_EVENT[event];
    if (!method) throw new RemotePoolError("UnknownEvent", `no OPEN-SCS method reports the PSS event "${event}"`);
    let applied = 0;
    for (const part of chunks(a.serialNumbers, this.limits.maxEvents)) {
      const r = method === "SNInvalidatingEvent"
        ? await this.client.snInvalidating({ snCollection: { serialNumbers: part }, snFormat: a.snFormat, context: a.context })
        : await this.client.event(method as EventMethod, { labelCollection: labelCollectionIn(part, a.labelCollection), snFormat: a.snFormat, context: a.context });
      RemotePool.check(method, r.returnStatus, applied);
      applied += part.length;
    }
    return { returnStatus: "NoError", applied, anomalies: 0 };
  }

  /** Packing or unpacking, in calls of at most MaxAggregationEvents parents. */
  async aggregate(event: "packing" | "unpacking", a: { elements: Array<{ parent: string; parentProperties?: Dict; children: string[]; childCollection?: { id?: string; description?: string; properties?: Dict; labels?: Array<{ id: string; properties?: Dict }> } }>; parentSnFormat?: string; packedElementSnFormat?: string; context?: Dict }): Promise<{ returnStatus: string }> {
    let accepted = 0;
    for (const part of chunks(a.elements, this.limits.maxAggregationEvents)) {
      const r = await this.client.aggregation(event, {
        elements: part.map((e) => ({ parent: e.parent, parentProperties: e.parentProperties, children: labelCollectionIn(e.children, e.childCollection) })),
        parentSnFormat: a.parentSnFormat, packedElementSnFormat: a.packedElementSnFormat, context: a.context,
      });
      RemotePool.check(event === "packing" ? "AggregationPackingEvent" : "AggregationUnpackingEvent", r.returnStatus, accepted);
      accepted += part.length;
    }
    return { returnStatus: "NoError" };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
