/* pss-epcis-in: a received EPCIS document (a contract manufacturer's or a line vendor's data) applied to the pool:
   read and checked, then its commissioning, packing, unpacking, shipping, decommissioning and destroying events
   applied through the state guard, all or nothing; a document received twice changes nothing the second time. */
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { InputError, asNodeError, statusText } from "../common/errors";
import { LocalPoolBackend } from "../common/local-backend";
import type { PoolConfigNode } from "../common/pool-config";
import * as epcis from "../core/epcis";

export interface EpcisInNodeDef extends NodeDef {
  pool?: string;
  /** pool for SSCCs the document commissions that the file does not know yet; "" = the node's pool */
  ssccPool?: string;
  /** an event the import does not apply (receiving, TransactionEvent, ...): refuse the document (default) or skip it */
  unsupported?: "refuse" | "skip";
}

/** The refusal as the Catch node sees it: code, message, and per-event problems (and serial numbers) on the error. */
function refusal(err: unknown): Error & { code: string } {
  if (err instanceof epcis.EpcisError && err.problems) {
    const details = err.problems.flatMap((p) => (p.serialNumbers?.length ? p.serialNumbers : [undefined]).map((serialNumber) => ({
      ...(serialNumber ? { serialNumber } : {}), field: `event ${p.index}${p.eventID ? ` (${p.eventID})` : ""} ${p.field}`, reason: p.message,
    })));
    Object.defineProperty(err, "details", { value: details, enumerable: true });
    Object.defineProperty(err, "cause", { value: { code: err.code, problems: err.problems, details }, enumerable: false, writable: true });
  }
  return asNodeError(err);
}

export default function (RED: NodeAPI): void {
  function PssEpcisInNode(this: Node, config: EpcisInNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const pool = config.pool ? (RED.nodes.getNode(config.pool) as PoolConfigNode | null) : null;
    const ssccPool = (config.ssccPool || "").trim();
    const unsupported = config.unsupported === "skip" ? "skip" : "refuse";

    node.on("input", (msg: NodeMessageInFlow, send: SendFn, done: DoneFn) => {
      try {
        if (!pool) throw new InputError("PoolUnavailable", "pss-epcis-in: configure the pss-pool that receives the documents");
        const backend = pool.getBackend();
        if (!(backend instanceof LocalPoolBackend)) throw new InputError("PoolUnavailable", "pss-epcis-in needs a local pool file (the import applies the document in one transaction of that file)");
        const doc = msg.payload;
        if (doc === undefined || doc === null || (typeof doc !== "string" && typeof doc !== "object")) {
          throw new InputError("InvalidPayload", "msg.payload must be an EPCIS document: an object (JSON-LD), or a string or Buffer of JSON-LD or XML");
        }
        const summary = epcis.importEpcisDocument(backend.store, doc, {
          poolId: backend.poolId, ...(ssccPool ? { logisticPoolId: ssccPool } : {}), unsupported, actor: `node-red:${node.id}`,
        });
        node.status({ fill: "green", shape: "dot", text: `${summary.applied} applied${summary.duplicates ? `, ${summary.duplicates} known` : ""}` });
        send({ ...msg, payload: summary });
        done();
      } catch (err) {
        const e = refusal(err);
        node.status({ fill: "red", shape: "dot", text: statusText(e) });
        done(e);
      }
    });
  }
  RED.nodes.registerType("pss-epcis-in", PssEpcisInNode as never);
}
