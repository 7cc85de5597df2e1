/* OpenScsBackend over the PostgreSQL engine (nodes/core/store/pg, issue 17): the pool functions and events run the
   PSS rules there, one transaction per call; the same argument mapping as StoreBackend. Packing and the EPCIS inbox
   have no tables in PostgreSQL yet: those calls are refused with the codes the server already answers
   (AggregationUnavailable, EpcisUnavailable). Not exported from ./index, so that loading the OPC UA layer does not
   load the PostgreSQL driver. */
import type { LabelCollection } from "./codecs";
import { labelCollectionForStore } from "./backend";
import type { AggregationElementIn, Dict, EventName, OpenScsBackend, PushTarget, RequestResult, RequestTarget, ReturnTarget } from "./backend";
import type { PgPoolEngine } from "../store/pg";

type Described = ReturnType<OpenScsBackend["describe"]>;

export class PgBackend implements OpenScsBackend {
  private constructor(private readonly engine: PgPoolEngine, private described: Described) {}

  /** The backend over an open engine, with the schema's pools read once for describe() (synchronous: the server
   *  builds its address space from it when it starts). A pool created later is served all the same (requests find
   *  it by their criteria); it is missing only from the managers' properties until refresh(). */
  static async open(engine: PgPoolEngine): Promise<PgBackend> {
    const b = new PgBackend(engine, { pools: [] });
    await b.refresh();
    return b;
  }

  /** Reads the schema's pools again (what describe() gives). */
  async refresh(): Promise<void> {
    const pools = await this.engine.pools();
    this.described = { pools: pools.map((p) => ({ poolId: p.poolId, sidClass: p.sidClass, selectionCriteria: p.selectionCriteria ?? {}, maxRequest: p.maxRequest })) };
  }

  async request(target: RequestTarget, a: { snCollectionId: string; count: number; snFormat: string; poolSelectionCriteria: Dict; requestToken: string; actor: string }): Promise<RequestResult> {
    const r = await this.engine.request(target, {
      poolSelectionCriteria: a.poolSelectionCriteria,
      snCollectionId: a.snCollectionId || undefined,
      count: a.count,
      snFormat: a.snFormat,
      requestToken: a.requestToken || undefined,
      actor: a.actor,
    });
    return { returnStatus: r.returnStatus, snCollection: r.snCollection, returnedRequestToken: r.returnedRequestToken ?? "" };
  }

  async returnSerialNumbers(target: ReturnTarget, a: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria: Dict; snFormat: string; actor: string }): Promise<{ returnStatus: string }> {
    return { returnStatus: (await this.engine.returnSerialNumbers(target, a)).returnStatus };
  }

  async pushTo(target: PushTarget, a: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria: Dict; snFormat: string; actor: string }): Promise<{ returnStatus: string }> {
    return { returnStatus: (await this.engine.pushTo(target, a)).returnStatus };
  }

  async applyEvent(event: EventName, a: { serialNumbers: string[]; snFormat: string; labelCollection?: LabelCollection; context: Dict; actor: string }): Promise<{ returnStatus: string }> {
    const r = await this.engine.applyEvent(event, {
      serialNumbers: a.serialNumbers,
      snFormat: a.snFormat,
      labelCollection: a.labelCollection ? labelCollectionForStore(a.labelCollection) : undefined,
      context: a.context,
      actor: a.actor,
    });
    return { returnStatus: r.returnStatus };
  }

  async aggregate(event: "packing" | "unpacking", _a: { elements: AggregationElementIn[]; parentSnFormat: string; packedElementSnFormat: string; context: Dict; actor: string }): Promise<{ returnStatus: string }> {
    throw Object.assign(new Error(`${event === "packing" ? "packing" : "unpacking"} is not available on a PostgreSQL pool yet (the hierarchy has no tables there); nothing was changed. Pack on a pool file (serialflow serve --db) until it is built`), { code: "AggregationUnavailable" });
  }

  async acceptEpcis(_document: Buffer, _a: { options: Dict; actor: string }): Promise<{ returnStatus: string }> {
    throw Object.assign(new Error("EPCIS documents cannot be received on a PostgreSQL pool yet (no EPCIS inbox there); the document was neither kept nor applied. Send it to a pool file's server (serialflow serve --db) or use serialflow epcis import --db"), { code: "EpcisUnavailable" });
  }

  describe(): Described {
    return this.described;
  }
}
