/* EPCIS export of 1,000,000 events: events per second (as a ratio to writing pre-built plain objects with
   JSON.stringify to the same sink in the same run) and heap, sampled as it goes: streaming keeps it flat. */
import { Writable } from "stream";
import * as epcis from "../nodes/core/epcis";
import type { PssEventInput } from "../nodes/core/epcis";
import type { BenchModule } from "./harness";
import { seconds } from "./harness";

const N = 1_000_000;
const T0 = Date.parse("2026-01-01T00:00:00Z");

/** Audit-record-like inputs: commissioning (with lot and expiry), then shipping, one serial number each. */
function* records(n: number): Generator<PssEventInput> {
  for (let i = 0; i < n; i++) {
    const sn = `SN${i.toString(36).padStart(10, "0")}`;
    yield i % 2 === 0
      ? { event: "commissioning", seq: i, serialNumbers: [sn], time: new Date(T0 + i).toISOString(), context: { lot: "LOT1", expiry: "281231" } }
      : { event: "shipping", seq: i, serialNumbers: [sn], time: new Date(T0 + i).toISOString(), context: {} };
  }
}

/** A sink that drops the bytes asynchronously, so back-pressure is real and the disk is not the bottleneck. */
function sink(): { out: Writable; bytes: () => number } {
  let bytes = 0;
  const out = new Writable({ highWaterMark: 1 << 20, write(chunk: Buffer, _e, cb) { bytes += chunk.length; setImmediate(cb); } });
  return { out, bytes: () => bytes };
}

const bench: BenchModule = {
  title: "EPCIS export (1,000,000 events, streaming)",
  async run(log) {
    const options: epcis.BuildOptions = { companyPrefixLength: 7, gtin: "00614141123452", readPoint: "0614141000005" };
    // baseline: the same number of similar-sized plain objects, stringified and written, no mapping and no hash
    const base = sink();
    const sample = epcis.toEpcisEvent({ event: "commissioning", serialNumbers: ["SN0000000000"], time: new Date(T0).toISOString(), context: { lot: "LOT1", expiry: "281231" } }, options) as epcis.EpcisEvent;
    const tBase = await seconds(async () => {
      let buf = "";
      for (let i = 0; i < N; i++) {
        buf += JSON.stringify({ ...sample, eventTime: new Date(T0 + i).toISOString() }) + ",\n";
        if (buf.length > 65536) {
          if (!base.out.write(buf)) await new Promise((r) => base.out.once("drain", r));
          buf = "";
        }
      }
      base.out.write(buf);
    });
    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    let peak = 0;
    let at10 = 0;
    let count = 0;
    const ours = sink();
    function* measured(): Generator<epcis.EpcisEvent> {
      for (const ev of epcis.fromAuditRecords(records(N), options)) {
        if (++count % 20000 === 0) {
          const h = process.memoryUsage().heapUsed - heap0;
          if (h > peak) peak = h;
          if (count === N / 10) at10 = peak;
        }
        yield ev;
      }
    }
    const tOurs = await seconds(() => epcis.writeDocument(measured(), ours.out, { creationDate: new Date(T0).toISOString() }));
    const rate = N / tOurs;
    log({ name: "EPCIS 2.0 JSON-LD export, events/s (mapping + CBV event hash + write)", value: rate, unit: "events/s", ratio: rate / (N / tBase), note: `baseline ${Math.round(N / tBase).toLocaleString("en-US")} events/s (JSON.stringify only)` });
    log({ name: "document size", value: ours.bytes() / 1e6, unit: "MB" });
    log({ name: "peak heap growth during the export", value: peak / 1e6, unit: "MB", aim: "flat: not growing with the event count", note: `after 100,000 events ${(at10 / 1e6).toFixed(1)} MB, after 1,000,000 ${(peak / 1e6).toFixed(1)} MB; the document is ${(ours.bytes() / 1e6).toFixed(0)} MB` });
  },
};

export default bench;
