/* pss-aggregator: the live aggregation builder. One scan per message, as a camera sends them: double reads are
   ignored, refused scans go to output 2 with the reason, a full parent closes itself (output 1: the
   AggregationPackingEvent result; output 3: a request for the parent's label). Parents in progress live in the
   pool file, so they survive a redeploy or a restart. */
import type { NodeAPI, Node, NodeDef, NodeMessage, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { isPlainObject } from "../common/args";
import { InputError, asNodeError, statusText } from "../common/errors";
import { onInput } from "../common/pipeline";
import { LocalPoolBackend } from "../common/local-backend";
import type { PoolConfigNode } from "../common/pool-config";
import { AggregationBuilder, type AggregationLevel, type ClosedParent, type OpenLevel } from "../core/aggregation";

export interface AggregatorNodeDef extends NodeDef {
  pool: string;
  builderId?: string;
  /** JSON: [{ name, capacity, parentPool | parentPools, parentKind, mixing }], lowest level first */
  levels?: string;
  /** close the lowest open parent (or `idleClose`) after this many seconds without a message; 0 = never */
  idleSeconds?: number | string;
  /** what the idle time closes: "" (the lowest open parent), "all", or a level name */
  idleClose?: string;
}

export function parseLevels(raw: unknown): AggregationLevel[] {
  let list: unknown = raw;
  if (typeof raw === "string") {
    try {
      list = JSON.parse(raw);
    } catch (err) {
      throw new InputError("InvalidLevel", `the levels are not valid JSON: ${(err as Error).message}`);
    }
  }
  if (!Array.isArray(list) || list.length === 0) throw new InputError("InvalidLevel", "give at least one level: [{ \"name\": \"case\", \"capacity\": 12, \"parentPool\": \"SSCC\" }]");
  return list.map((l: Record<string, unknown>) => {
    if (!isPlainObject(l)) throw new InputError("InvalidLevel", "each level must be an object { name, capacity, parentPool }");
    const capacity = typeof l.capacity === "string" ? Number(l.capacity) : l.capacity;
    const pools = Array.isArray(l.parentPools) ? l.parentPools : typeof l.parentPool === "string" && l.parentPool ? [l.parentPool] : [];
    return { name: l.name, capacity, parentPools: pools, parentKind: l.parentKind || undefined, mixing: l.mixing || undefined } as AggregationLevel;
  });
}

export function openText(open: OpenLevel[]): string {
  return open.map((o) => `${o.level} ${o.count}/${o.capacity}`).join(" · ");
}

export default function (RED: NodeAPI): void {
  function PssAggregatorNode(this: Node, config: AggregatorNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const pool = RED.nodes.getNode(config.pool) as PoolConfigNode | null;
    const builderId = (config.builderId || "").trim() || node.id;
    const idleMs = Math.max(0, Number(config.idleSeconds) || 0) * 1000;
    const idleClose = (config.idleClose || "").trim();
    let builder: AggregationBuilder | undefined;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;

    function getBuilder(): AggregationBuilder {
      if (builder) return builder;
      if (!pool) throw Object.assign(new Error("pss-aggregator: no pss-pool is configured on this node"), { code: "PoolUnavailable" });
      const backend = pool.getBackend();
      if (!(backend instanceof LocalPoolBackend)) throw Object.assign(new Error("pss-aggregator needs a local pool file (the hierarchy lives next to the serial numbers)"), { code: "PoolUnavailable" });
      builder = new AggregationBuilder(backend.aggregation(), builderId, parseLevels(config.levels), { actor: `node-red:${node.id}` });
      return builder;
    }

    /** Output 1: one AggregationPackingEvent result per closed parent; output 3: a label request for each. */
    function closedMessages(base: NodeMessage, list: ClosedParent[]): [NodeMessage[], NodeMessage[]] {
      const packed = list.map((c) => ({
        ...RED.util.cloneMessage(base), topic: "packed",
        payload: { returnStatus: "NoError", aggregationElement: [{ parent: c.parent, children: c.children }], level: c.level, full: c.full, builder: builderId },
      }));
      const labels = list.map((c) => ({
        ...RED.util.cloneMessage(base), topic: "label",
        // a serialized homogeneous parent (a US DSCSA case) has the lot and expiry of its contents: its label prints them
        payload: { serialNumber: c.parent, level: c.level, poolId: c.parentPool, count: c.children.length, full: c.full, ...(c.lot !== undefined ? { lot: c.lot } : {}), ...(c.expiry !== undefined ? { expiry: c.expiry } : {}) },
      }));
      return [packed, labels];
    }

    function showOpen(extra?: string): void {
      if (!builder) return;
      const open = builder.open();
      node.status({ fill: extra ? "yellow" : "green", shape: "dot", text: `${openText(open)}${extra ? ` · ${extra}` : ""}` });
    }

    function arm(): void {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (!idleMs || closed || !builder || !builder.open().some((o) => o.count > 0)) return;
      timer = setTimeout(onIdle, idleMs);
    }

    function onIdle(): void {
      timer = undefined;
      if (closed || !builder) return;
      try {
        const list = builder.close(idleClose || undefined);
        const [packed, labels] = closedMessages({ _msgid: RED.util.generateId() } as NodeMessage, list);
        node.send([packed, null, labels]);
        showOpen(`idle close: ${list.map((c) => c.level).join(", ")}`);
      } catch (err) {
        const e = asNodeError(err);
        node.status({ fill: "red", shape: "dot", text: statusText(e) });
        node.error(e);
      }
      arm();
    }

    onInput(node, {
      what: "pss-aggregator",
      run: async (msg, send) => {
        try {
          await scanned(msg, send);
        } finally {
          arm();
        }
      },
    });

    async function scanned(msg: NodeMessageInFlow, send: SendFn): Promise<void> {
      const b = getBuilder();
      const p = msg.payload as unknown;
      const command = isPlainObject(p) ? p : undefined;
      if (msg.topic === "close" || (command && command.close !== undefined)) {
        const raw = command ? command.close : typeof p === "string" ? p : undefined;
        const level = raw === true || raw === undefined || raw === "" || raw === null ? undefined : raw;
        if (level !== undefined && typeof level !== "string") throw new InputError("InvalidArgument", "msg.payload.close must be true, \"all\" or a level name");
        let list: ClosedParent[] | undefined;
        try {
          list = b.close(level);
        } catch (err) {
          // nothing open to close is a normal moment on a line (the end of a batch came right after a full case)
          if ((err as { code?: unknown }).code !== "EmptyParent") throw err;
        }
        if (list) {
          const [packed, labels] = closedMessages(msg, list);
          send([packed, null, labels]);
          showOpen();
        } else {
          const open = openText(b.open());
          node.status({ fill: "blue", shape: "ring", text: `nothing to close${open ? ` · ${open}` : ""}` });
        }
      } else if (command && command.remove !== undefined) {
        if (typeof command.remove !== "string") throw new InputError("InvalidArgument", "msg.payload.remove must be the serial number to take out of its open parent");
        msg.payload = b.remove(command.remove.trim());
        send([msg, null, null]);
        showOpen();
      } else if (command && command.discard === true) {
        msg.payload = { discarded: b.discard() };
        send([msg, null, null]);
        showOpen();
      } else {
        const scan = command ? command.scan ?? command.serialNumber : p;
        if (typeof scan !== "string" && typeof scan !== "number") {
          throw new InputError("InvalidArgument", "msg.payload must be the scanned serial number (a string), { scan }, { close }, { remove } or { discard: true }");
        }
        const r = b.scan(String(scan));
        if (r.status === "refused") {
          msg.payload = { returnStatus: "Refused", serialNumber: r.serialNumber, code: r.code, reason: r.reason };
          send([null, msg, null]);
          showOpen(`refused: ${r.code}`);
        } else if (r.status === "duplicate") {
          showOpen("double read ignored");
        } else {
          const [packed, labels] = closedMessages(msg, r.closed);
          if (packed.length) send([packed, null, labels]);
          showOpen();
        }
      }
    }

    node.on("close", (_removed: boolean, done: () => void) => {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      builder = undefined;
      done();
    });

    // parents in progress from before a restart: show them and start their idle time again
    setImmediate(() => {
      if (closed) return;
      try {
        getBuilder();
        showOpen();
        arm();
      } catch (err) {
        const e = asNodeError(err);
        node.status({ fill: "red", shape: "ring", text: statusText(e) });
        node.error(`pss-aggregator: ${e.message}`);
      }
    });
  }
  RED.nodes.registerType("pss-aggregator", PssAggregatorNode as never);
}
