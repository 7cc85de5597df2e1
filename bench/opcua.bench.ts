/* OPEN-SCS server throughput: SNRequestAllocated with 10,000 numbers per call, and calls per second with 1 and
   16 calls in flight, each as a ratio to a trivial method of the same node-opcua server in the same run. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DataType, StatusCodes, Variant, VariantArrayType } from "node-opcua";
import type { AddressSpace, CallMethodResultOptions, ISessionContext, UAMethod, NodeId } from "node-opcua";
import { openPoolStore } from "../nodes/core/store";
import { createOpenScsServer, connectOpenScs, clientCertificate, OpenScsClient } from "../nodes/core/opcua";
import type { BenchModule, BenchRow } from "./harness";
import { seconds } from "./harness";

const PAGE = 10_000;
const BIG_CALLS = 10;
const SMALL_CALLS = 600;

/** Add the raw baselines to the server: Ping (no work) and Strings(n) (n strings, no store). */
function addBaselines(as: AddressSpace): { folder: NodeId; ping: NodeId; strings: NodeId } {
  const ns = as.getOwnNamespace();
  const folder = ns.addObject({ browseName: "Baselines", organizedBy: as.rootFolder.objects });
  const ping = ns.addMethod(folder, { browseName: "Ping", inputArguments: [], outputArguments: [{ name: "ReturnStatus", dataType: DataType.Int32 }] }) as UAMethod;
  ping.bindMethod(async (_a: Variant[], _c: ISessionContext): Promise<CallMethodResultOptions> => ({ statusCode: StatusCodes.Good, outputArguments: [new Variant({ dataType: DataType.Int32, value: 1 })] }));
  const strings = ns.addMethod(folder, {
    browseName: "Strings",
    inputArguments: [{ name: "Count", dataType: DataType.UInt32 }],
    outputArguments: [{ name: "Values", dataType: DataType.String, valueRank: 1 }],
  }) as UAMethod;
  let next = 0;
  strings.bindMethod(async (a: Variant[], _c: ISessionContext): Promise<CallMethodResultOptions> => {
    const n = a[0].value as number;
    // strings of the same shape as the pool's serial numbers, so the wire carries the same bytes
    const values = Array.from({ length: n }, () => `BASELINE${String(next++).padStart(12, "0")}`);
    return { statusCode: StatusCodes.Good, outputArguments: [new Variant({ dataType: DataType.String, arrayType: VariantArrayType.Array, value: values })] };
  });
  return { folder: folder.nodeId, ping: ping.nodeId, strings: strings.nodeId };
}

async function inFlight(total: number, concurrency: number, call: () => Promise<unknown>): Promise<number> {
  let started = 0;
  return seconds(async () => {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (started < total) {
          started++;
          await call();
        }
      }),
    );
  });
}

const bench: BenchModule = {
  title: "OPC UA: OPEN-SCS server on loopback (SignAndEncrypt, Basic256Sha256)",
  async run(log: (row: BenchRow) => void): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serialflow-bench-opcua-"));
    const store = openPoolStore(path.join(dir, "pool.db"));
    let server: Awaited<ReturnType<typeof createOpenScsServer>> | undefined;
    let client: OpenScsClient | undefined;
    try {
      store.createPool({ poolId: "default", sidClass: "GS1-SGTIN", maxRequest: PAGE, isDefault: true });
      store.provision("default", { generate: PAGE * (2 * BIG_CALLS + 1) + SMALL_CALLS * 3 + 100 });
      server = await createOpenScsServer({ store, port: 0, pkiFolder: dir, users: [{ name: "bench", password: "bench", roles: ["admin"] }], log: () => undefined });
      await server.trustClientCertificate(await clientCertificate(dir));
      const baseline = addBaselines(server.raw.engine.addressSpace as AddressSpace);
      client = await connectOpenScs({ endpointUrl: server.endpointUrl, user: "bench", password: "bench", pkiFolder: dir, trustServerCertificate: server.certificate, maxRetry: 0 });
      const c = client;
      const rawCall = async (methodId: NodeId, inputArguments: Variant[]) => {
        const r = await c.session.call({ objectId: baseline.folder, methodId, inputArguments });
        if (r.statusCode.value !== 0) throw new Error(`baseline call failed: ${r.statusCode.name}`);
      };
      // warm-up: method discovery, sessions, JIT
      await c.snRequest("Allocated", { count: PAGE });
      await rawCall(baseline.strings, [new Variant({ dataType: DataType.UInt32, value: PAGE })]);

      const tOurs = await seconds(async () => {
        for (let i = 0; i < BIG_CALLS; i++) {
          const r = await c.snRequest("Allocated", { count: PAGE });
          if (r.snCollection.serialNumbers.length !== PAGE) throw new Error(`page ${i} held ${r.snCollection.serialNumbers.length} numbers`);
        }
      });
      const tBase = await seconds(async () => {
        for (let i = 0; i < BIG_CALLS; i++) await rawCall(baseline.strings, [new Variant({ dataType: DataType.UInt32, value: PAGE })]);
      });
      const tStore = await seconds(async () => {
        for (let i = 0; i < BIG_CALLS; i++) store.request("Allocated", { count: PAGE, snFormat: "SERIALONLY", actor: "bench" });
      });
      const ours = (PAGE * BIG_CALLS) / tOurs;
      log({ name: `SNRequestAllocated, ${PAGE.toLocaleString("en-US")} numbers per call`, value: ours, unit: "numbers/s", ratio: ours / ((PAGE * BIG_CALLS) / tBase), aim: "ratio >= 0.7", note: "baseline: a method returning as many strings, no store" });
      log({ name: "  same, OPC UA path vs store.request alone", value: ours, unit: "numbers/s", ratio: tStore / tOurs, note: "share of the time that is the store's: what the OPC UA layer adds is the rest" });

      for (const concurrency of [1, 16]) {
        const tSmall = await inFlight(SMALL_CALLS, concurrency, () => c.snRequest("Allocated", { count: 1 }));
        const tPing = await inFlight(SMALL_CALLS, concurrency, () => rawCall(baseline.ping, []));
        const rate = SMALL_CALLS / tSmall;
        log({ name: `SNRequestAllocated (1 number), ${concurrency} in flight`, value: rate, unit: "calls/s", ratio: rate / (SMALL_CALLS / tPing), aim: "ratio >= 0.7", note: "baseline: a trivial method" });
        if (concurrency === 1) {
          const tDirect = await seconds(async () => {
            for (let i = 0; i < SMALL_CALLS; i++) store.request("Allocated", { count: 1, snFormat: "SERIALONLY", actor: "bench" });
          });
          log({ name: "  same, OPC UA path vs store.request alone", value: rate, unit: "calls/s", ratio: tDirect / tSmall, note: "share of the time that is the store's" });
        }
      }
    } finally {
      await client?.close().catch(() => undefined);
      await server?.shutdown();
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
