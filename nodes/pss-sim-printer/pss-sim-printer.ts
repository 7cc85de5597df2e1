/* pss-sim-printer: a simulated label printer for a line with no hardware. Serial numbers (a PSS node's output) are
   rendered to ZPL and sent over a real loopback TCP connection to the simulated printer, which reads the field data
   back; ZPL can also be sent as is, by this node or by any program that prints to the port. Output 1: printed,
   output 2: failed (misprints at the configured seeded rate). */
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { isPlainObject, optionalString } from "../common/args";
import { InputError, asNodeError, statusText } from "../common/errors";
import { onInput } from "../common/pipeline";
import { rateSetting, seedSetting, numberSetting } from "../common/sim-args";
import { serialNumbersOf } from "../common/parse";
import { SimPrinter, sendZpl, SimError, type PrintedLabel, type JobSource } from "../core/sim";
import { renderCollection, DEFAULT_TEMPLATE } from "../core/label";

export interface SimPrinterNodeDef extends NodeDef {
  transport?: "tcp" | "direct";
  port?: number | string;
  misprintRate?: number | string;
  seed?: number | string;
  sidClass?: string;
  gtin?: string;
  lot?: string;
  expiry?: string;
}

export interface SimPrinterNode extends Node {
  /** resolves with the TCP port once the printer listens (tests, the status) */
  ready: Promise<number | null>;
  printer: SimPrinter;
}

/** The ZPL of a message: ZPL text as the payload or payload.zpl, or labels rendered from its serial numbers. */
function jobOf(payload: unknown, config: SimPrinterNodeDef): string {
  if (typeof payload === "string") {
    if (!payload.includes("^XA")) throw new InputError("InvalidPrintJob", "msg.payload is text but not ZPL (no ^XA): send ZPL, or serial numbers to print");
    return payload;
  }
  if (Buffer.isBuffer(payload)) return jobOf(payload.toString("latin1"), config);
  if (!isPlainObject(payload)) throw new InputError("InvalidPrintJob", "msg.payload must be ZPL text or an object with zpl, serialNumbers, snCollection or labelCollection");
  if (payload.zpl !== undefined) {
    if (typeof payload.zpl !== "string") throw new InputError("InvalidPrintJob", "msg.payload.zpl must be ZPL text");
    return jobOf(payload.zpl, config);
  }
  const serialNumbers = serialNumbersOf(payload);
  const opt = (k: "gtin" | "lot" | "expiry") => optionalString(payload, k, (config[k] ?? "").trim(), 64) || undefined;
  const rendered = renderCollection({ serialNumbers }, {
    sidClass: optionalString(payload, "sidClass", (config.sidClass || "GS1-SGTIN").trim(), 64),
    gtin: opt("gtin"),
    lot: opt("lot"),
    expiry: opt("expiry"),
    template: DEFAULT_TEMPLATE,
  });
  return rendered.map((r) => r.zpl).join("\n");
}

function summary(labels: PrintedLabel[]) {
  const printed = labels.filter((l) => l.status === "printed");
  const failed = labels.filter((l) => l.status === "failed");
  const view = (l: PrintedLabel) => ({ index: l.index, serialNumber: l.serialNumber, code: l.code, gs1: l.gs1 });
  return {
    printed: printed.length
      ? { serialNumbers: printed.map((l) => l.serialNumber).filter((s): s is string => s !== null), labels: printed.map(view) }
      : null,
    failed: failed.length
      ? { serialNumbers: failed.map((l) => l.serialNumber).filter((s): s is string => s !== null), failures: failed.map((l) => ({ ...view(l), reason: l.reason })) }
      : null,
  };
}

export default function (RED: NodeAPI): void {
  function PssSimPrinterNode(this: SimPrinterNode, config: SimPrinterNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const transport = config.transport === "direct" ? "direct" : "tcp";
    let printed = 0;
    let failed = 0;
    let port: number | null = null;
    let configError: Error | undefined;
    const own = new Map<number, (labels: PrintedLabel[]) => void>();
    const show = (fill: "green" | "yellow" | "red" | "grey" = "green") =>
      node.status({ fill, shape: "dot", text: `printed ${printed} · failed ${failed}${port ? ` · tcp :${port}` : ""}` });

    try {
      node.printer = new SimPrinter({
        misprintRate: rateSetting("misprint rate", config.misprintRate),
        seed: seedSetting(config.seed),
        port: numberSetting("port", config.port, 0, 0, 65535),
      });
    } catch (err) {
      configError = asNodeError(err);
      node.printer = new SimPrinter();
    }
    const printer = node.printer;

    // a job this node sent comes back as one "job"; anything else on the port is another program printing to it
    const onJob = (labels: PrintedLabel[], source: JobSource) => {
      const mine = own.get(source.remotePort);
      if (mine) {
        own.delete(source.remotePort);
        mine(labels);
      }
    };
    const onLabel = (label: PrintedLabel, source: JobSource) => {
      if (own.has(source.remotePort)) return;
      const s = summary([label]);
      if (label.status === "printed") printed++;
      else failed++;
      show(failed ? "yellow" : "green");
      const base = { topic: "tcp", source };
      node.send([s.printed ? { ...base, payload: s.printed, printed: s.printed.labels } : null, s.failed ? { ...base, payload: s.failed } : null]);
    };
    printer.on("job", onJob);
    printer.on("label", onLabel);
    printer.on("error", (err: Error) => node.warn(`simulated printer: ${err.message}`));

    if (configError) {
      node.status({ fill: "red", shape: "ring", text: statusText(configError as Error & { code: string }) });
      node.error(`simulated printer: ${configError.message}`);
      node.ready = Promise.resolve(null);
    } else {
      node.ready = printer.listen().then(
        (a) => {
          port = a.port;
          show("green");
          return a.port;
        },
        (err: Error) => {
          configError = asNodeError(err);
          node.status({ fill: "red", shape: "ring", text: statusText(configError as Error & { code: string }) });
          node.error(err.message);
          return null;
        },
      );
    }

    async function printViaTcp(zpl: string): Promise<PrintedLabel[]> {
      const p = await node.ready;
      if (p === null) throw new SimError("PrinterUnavailable", "the simulated printer is not listening");
      let settle: ((l: PrintedLabel[]) => void) | undefined;
      const result = new Promise<PrintedLabel[]>((resolve) => (settle = resolve));
      let localPort = 0;
      try {
        localPort = await sendZpl("127.0.0.1", p, zpl, (lp) => own.set(lp, settle!));
      } catch (err) {
        for (const [k, v] of own) if (v === settle) own.delete(k);
        throw err;
      }
      // the printer reports the job when the connection ends, before it closes its side
      const timer = setTimeout(() => own.get(localPort)?.([]), 10_000);
      const labels = await result;
      clearTimeout(timer);
      return labels;
    }

    onInput(node, {
      what: "pss-sim-printer",
      run: async (msg) => {
        if (configError) throw configError;
        const zpl = jobOf(msg.payload, config);
        const labels = transport === "tcp" ? await printViaTcp(zpl) : printer.print(zpl);
        if (labels.length === 0) throw new SimError("BadZpl", "the printer read no complete label (^XA ... ^XZ) from the job");
        return labels;
      },
      ok: (labels, msg, send) => {
          const s = summary(labels);
          printed += s.printed?.labels.length ?? 0;
          failed += s.failed?.failures.length ?? 0;
          show(s.failed ? "yellow" : "green");
          let out1: NodeMessageInFlow | null = null;
          let out2: NodeMessageInFlow | null = null;
          if (s.printed) out1 = Object.assign(msg, { payload: s.printed, printed: s.printed.labels });
          if (s.failed) {
            const base = out1 ? RED.util.cloneMessage(msg) : msg;
            delete (base as { printed?: unknown }).printed;
            out2 = Object.assign(base, { payload: s.failed });
          }
          send([out1, out2]);
      },
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      printer.off("job", onJob);
      printer.off("label", onLabel);
      printer.close().then(() => done(), () => done());
    });
  }
  RED.nodes.registerType("pss-sim-printer", PssSimPrinterNode as never);
}
