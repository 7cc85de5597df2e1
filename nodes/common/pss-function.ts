/* The runtime of the 20 PSS function nodes: parse msg.payload for the function's argument shape, call
   the pool, send the result. One pipeline; the table in functions.ts says what differs. */
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow } from "./red";
import { functionByType, type PssFunction } from "./functions";
import { keyValues, payloadObject, type Dict } from "./args";
import { InputError } from "./errors";
import { onInput } from "./pipeline";
import { namedState, poolFunction, type PoolFunctionStates } from "../core/lifecycle";
import { parseAggregation, parseCollection, parseLabelEvent, parseRequest, parseSnEvent, type FunctionDefaults } from "./parse";
import type { LabelCollectionIn, PoolBackend, RequestResult, RequestTarget, PushTarget, ReturnTarget } from "./pool-backend";
import type { PoolConfigNode } from "./pool-config";

export interface FunctionNodeDef extends NodeDef {
  pool: string;
  count?: number | string;
  /** typedInput type of count: num (default), msg, flow, global, env */
  countType?: string;
  snFormat?: string;
  snCollectionId?: string;
  snCollectionIdType?: string;
  context?: string;
  /** json (default, Node-RED's JSON editor), msg, flow, global, env */
  contextType?: string;
  /** label events: the batch's lot and expiry (YYMMDD), stored with the label collection's properties */
  lot?: string;
  lotType?: string;
  expiry?: string;
  expiryType?: string;
}

/** A property a typedInput may take from the message, flow or global context or the environment. */
const DYNAMIC = new Set(["msg", "flow", "global", "env", "jsonata"]);

function evaluate(RED: NodeAPI, node: Node, value: string, type: string, msg: NodeMessageInFlow): Promise<unknown> {
  return new Promise((resolve, reject) =>
    RED.util.evaluateNodeProperty(value, type, node, msg, (err: Error | null, v: unknown) => (err ? reject(err) : resolve(v))),
  );
}

/** The node's defaults for one message: typedInputs set to msg, flow, global or env are read now. A value that is
    absent there leaves the default unset (the message must then give it); a wrong one is refused by name. */
export async function messageDefaults(RED: NodeAPI, node: Node, config: FunctionNodeDef, fn: PssFunction, msg: NodeMessageInFlow, base: FunctionDefaults): Promise<FunctionDefaults> {
  const d: FunctionDefaults = { ...base };
  const read = async (field: string, value: string | number | undefined, type: string | undefined): Promise<unknown> => {
    if (!type || !DYNAMIC.has(type) || value === undefined || String(value).trim() === "") return undefined;
    try {
      return await evaluate(RED, node, String(value).trim(), type, msg);
    } catch (err) {
      throw new InputError("InvalidNodeProperty", `the node's ${field} (${type} ${String(value)}) could not be read: ${(err as Error).message}`);
    }
  };
  if (fn.shape === "request") {
    const c = await read("count", config.count, config.countType);
    if (c !== undefined && c !== null && c !== "") {
      const n = typeof c === "string" && /^\s*\d+\s*$/.test(c) ? Number(c) : c;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw new InputError("InvalidCount", `count (${config.countType} ${String(config.count)}) is ${JSON.stringify(c)}, not a whole number ≥ 1`);
      d.count = n;
    } else if (config.countType && DYNAMIC.has(config.countType)) d.count = undefined;
  }
  const id = await read("SN collection", config.snCollectionId, config.snCollectionIdType);
  if (id !== undefined && id !== null) {
    if (typeof id !== "string") throw new InputError("InvalidArgument", `the node's SN collection (${config.snCollectionIdType} ${String(config.snCollectionId)}) is not a string`);
    d.snCollectionId = id;
  } else if (config.snCollectionIdType && DYNAMIC.has(config.snCollectionIdType)) d.snCollectionId = "";
  if (fn.shape !== "request") {
    const ctx = await read("event context", config.context, config.contextType);
    if (ctx !== undefined && ctx !== null) d.context = keyValues({ context: typeof ctx === "string" ? JSON.parse(ctx) : ctx }, "context");
    else if (config.contextType && DYNAMIC.has(config.contextType)) d.context = undefined;
  }
  if (fn.shape === "labelEvent") {
    const props: Dict = { ...(d.labelProperties ?? {}) };
    for (const [key, value, type] of [["lot", config.lot, config.lotType], ["expiry", config.expiry, config.expiryType]] as const) {
      if (type && DYNAMIC.has(type)) {
        const v = await read(key, value, type);
        if (v === undefined || v === null || v === "") delete props[key];
        else if (typeof v === "string" || typeof v === "number") props[key] = String(v);
        else throw new InputError("InvalidArgument", `the node's ${key} (${type} ${String(value)}) is not a string`);
      }
    }
    if (key(props, "expiry") && !/^(\d{6}|\d{4}-\d{2}-\d{2})$/.test(props.expiry)) throw new InputError("InvalidArgument", `the node's expiry ${JSON.stringify(props.expiry)} is neither YYMMDD nor YYYY-MM-DD`);
    d.labelProperties = Object.keys(props).length ? props : undefined;
  }
  return d;
}

const key = (o: Dict, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** Run one PSS function against a pool backend. Exported for the state guard, the admin node and tests. */
export async function runFunction(fn: PssFunction, backend: PoolBackend, payload: unknown, d: FunctionDefaults, actor: string): Promise<Record<string, unknown>> {
  const p = payloadObject(payload, fn.shape === "request");
  // the pool functions' states, from the one table (POOL_FUNCTIONS) the OPC UA server and the remote pool read too
  const pool = poolFunction(fn.method) as PoolFunctionStates;
  switch (fn.shape) {
    case "request": {
      const args = parseRequest(p, d);
      const target = namedState(pool) as RequestTarget;
      let page = await backend.request(target, args, actor);
      if (!args.pageAll) return { ...nothingDelivered(fn, args.count, page) };
      const serials = [...page.snCollection.serialNumbers];
      let status = page.returnStatus;
      let last: RequestResult = page;
      while (page.returnedRequestToken) {
        page = await backend.request(target, { ...args, requestToken: page.returnedRequestToken }, actor);
        for (const s of page.snCollection.serialNumbers) serials.push(s);
        if (page.returnStatus !== "NoError") status = page.returnStatus;
        last = page;
      }
      return { ...nothingDelivered(fn, args.count, { returnStatus: status, snCollection: { ...last.snCollection, serialNumbers: serials }, returnedRequestToken: "" }) };
    }
    case "snCollection": {
      const args = parseCollection(p, d, pool.operation as "return" | "push");
      const r = pool.operation === "return"
        ? await backend.returnSerialNumbers(namedState(pool) as ReturnTarget, args, actor)
        : await backend.pushTo(namedState(pool) as PushTarget, args, actor);
      return { returnStatus: r.returnStatus, snCollection: args.snCollection };
    }
    case "snEvent": {
      const args = parseSnEvent(p, d);
      const r = await backend.applyEvent(fn.event as string, args, actor);
      return { returnStatus: r.returnStatus, serialNumbers: args.serialNumbers, applied: r.applied, anomalies: r.anomalies, ...recorded(fn, args.context) };
    }
    case "labelEvent": {
      const args = parseLabelEvent(p, d);
      const r = await backend.applyEvent(fn.event as string, args, actor);
      return {
        returnStatus: r.returnStatus,
        labelCollection: specLabelCollection(args.labelCollection, args.serialNumbers),
        serialNumbers: args.serialNumbers,
        applied: r.applied,
        anomalies: r.anomalies,
        ...recorded(fn, args.context),
      };
    }
    case "aggregation": {
      const args = parseAggregation(p, d);
      const r = await backend.aggregate(fn.event as "packing" | "unpacking", args, actor);
      return { returnStatus: r.returnStatus, aggregationElement: args.elements.map((e) => ({ parent: e.parent, children: e.children })), ...recorded(fn, args.context) };
    }
  }
}

/** A request that yields no serial number at all cannot deliver: an error at this node (Catch gets
    InsufficientSerialNumbers), not an empty list for the next node to trip on. A partial result goes on. */
function nothingDelivered(fn: PssFunction, count: number, result: RequestResult): RequestResult {
  if (result.snCollection.serialNumbers.length > 0) return result;
  const where = result.snCollection.associatedPoolId ? `pool ${result.snCollection.associatedPoolId}` : "the pool";
  const free = fn.source?.join(" or ") ?? "free";
  throw new InputError("InsufficientSerialNumbers",
    `${fn.method}: ${where} has no ${free} serial number to give; ${count} ${count === 1 ? "was" : "were"} asked for (top the pool up with pss-pool-admin)`);
}

/** The PSS event a call recorded, with its time and context, on the result (payload.pssEvent): pss-epcis turns such
    messages into EPCIS events. Its own key, so no node downstream reads it as an argument. */
function recorded(fn: PssFunction, context: Dict | undefined): { pssEvent?: { event: string; time: string; context: Dict } } {
  return fn.event ? { pssEvent: { event: fn.event, time: new Date().toISOString(), context: { ...(context ?? {}) } } } : {};
}

/** The label collection in the spec's camelCase shape, as event nodes take it: output chains into input. */
export function specLabelCollection(lc: LabelCollectionIn | undefined, serialNumbers: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { id: lc?.id ?? "", description: lc?.description ?? "", serialNumbers };
  if (lc?.labels && lc.labels.length) out.labelCollection = lc.labels.map((l) => ({ id: l.id, labelProperties: l.properties ?? {} }));
  if (lc?.properties && Object.keys(lc.properties).length) out.labelCollectionProperties = lc.properties;
  return out;
}

export function countOf(result: Record<string, unknown>): number {
  const c = result.snCollection as { serialNumbers?: string[] } | undefined;
  if (c?.serialNumbers) return c.serialNumbers.length;
  if (Array.isArray(result.serialNumbers)) return result.serialNumbers.length;
  if (Array.isArray(result.aggregationElement)) return (result.aggregationElement as Array<{ children: string[] }>).reduce((n, e) => n + e.children.length, 0);
  return 0;
}

/** The node's fixed defaults, read once at deploy (typedInputs of type num, str or json). */
export function nodeDefaults(config: FunctionNodeDef): FunctionDefaults {
  const fixed = (type: string | undefined) => !type || !DYNAMIC.has(type);
  const count = typeof config.count === "string" && config.count.trim() !== "" ? Number(config.count) : config.count;
  let context: Dict | undefined;
  if (fixed(config.contextType) && config.context && config.context.trim()) {
    context = keyValues({ context: JSON.parse(config.context) }, "context");
  }
  const labelProperties: Dict = {};
  if (fixed(config.lotType) && config.lot && config.lot.trim()) labelProperties.lot = config.lot.trim();
  if (fixed(config.expiryType) && config.expiry && config.expiry.trim()) labelProperties.expiry = config.expiry.trim();
  return {
    count: fixed(config.countType) && typeof count === "number" && Number.isFinite(count) ? count : undefined,
    snFormat: config.snFormat || "SERIALONLY",
    snCollectionId: fixed(config.snCollectionIdType) ? config.snCollectionId || "" : "",
    context,
    labelProperties: Object.keys(labelProperties).length ? labelProperties : undefined,
  };
}

export function registerPssFunction(RED: NodeAPI, fn: PssFunction): void {
  function PssFunctionNode(this: Node, config: FunctionNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const pool = RED.nodes.getNode(config.pool) as PoolConfigNode | null;
    // the function nodes' shared status words, in the runtime's language (locales/<lang>/<type>.json)
    const t = (k: string) => RED._(`${fn.type}.status.${k}`);
    let defaults: FunctionDefaults;
    let configError: Error | undefined;
    try {
      defaults = nodeDefaults(config);
    } catch (err) {
      defaults = {};
      configError = new InputError("InvalidNodeProperty", `the node's event context is not valid JSON key/values: ${(err as Error).message}`);
    }
    let low = false;
    const onLow = () => {
      low = true;
    };
    /** the text of the last result while it says "pool low": a top-up (or a return) clears it */
    let lowText: string | undefined;
    const onLevel = (info: { low: boolean }) => {
      if (info.low || lowText === undefined) return;
      node.status({ fill: "green", shape: "dot", text: lowText });
      lowText = undefined;
    };
    // a pool that opens in the background (PostgreSQL) says when it cannot be opened, and when it is open again
    const onFailure = (err: Error & { code?: string }) => node.status({ fill: "red", shape: "ring", text: err.code ?? "pool unavailable" });
    const onReady = () => node.status({});
    if (!pool) {
      node.status({ fill: "red", shape: "ring", text: t("no-pool") });
    } else {
      pool.events.on("low", onLow);
      pool.events.on("level", onLevel);
      pool.events.on("failure", onFailure);
      pool.events.on("ready", onReady);
      // a pool that could not be opened (not a pool file, ...) shows red before the first message
      node.status(pool.failure ? { fill: "red", shape: "ring", text: (pool.failure as Error & { code?: string }).code ?? "pool unavailable" } : {});
    }

    onInput(node, {
      what: fn.method,
      run: async (msg) => {
        if (configError) throw configError;
        if (!pool) {
          const e = new Error(`${fn.method}: no pss-pool is configured on this node`) as Error & { code: string };
          e.code = "PoolUnavailable";
          throw e;
        }
        const actor = typeof msg.actor === "string" && msg.actor ? `${msg.actor} via ${node.id}` : `node-red:${node.id}`;
        return runFunction(fn, pool.getBackend(), msg.payload, await messageDefaults(RED, node, config, fn, msg, defaults), actor);
      },
      ok: (result, msg, send) => {
        const n = countOf(result);
        const partial = result.returnStatus !== "NoError";
        const wasLow = low;
        low = false;
        lowText = !partial && wasLow ? `${n.toLocaleString("en-US")} · ${fn.method}` : undefined;
        msg.payload = result;
        send(msg);
        return {
          fill: partial || wasLow ? "yellow" : "green",
          shape: "dot",
          text: partial ? `${n.toLocaleString("en-US")} · ${String(result.returnStatus)}` : wasLow ? `${n.toLocaleString("en-US")} · ${t("pool-low")}` : `${n.toLocaleString("en-US")} · ${fn.method}`,
        };
      },
      failed: () => {
        lowText = undefined;
        low = false;
      },
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      if (pool) {
        pool.events.off("low", onLow);
        pool.events.off("level", onLevel);
        pool.events.off("failure", onFailure);
        pool.events.off("ready", onReady);
      }
      done();
    });
  }
  RED.nodes.registerType(fn.type, PssFunctionNode as never);
}

/** The module function for one node type: what each generated dist/nodes/<type>/<type>.js exports. */
export function moduleFor(type: string): (RED: NodeAPI) => void {
  const fn = functionByType(type);
  if (!fn) throw new Error(`unknown PSS function node type ${type}`);
  return (RED: NodeAPI) => registerPssFunction(RED, fn);
}
