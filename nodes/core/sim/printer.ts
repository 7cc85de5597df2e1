/* A simulated label printer. It takes print jobs in process (print()) or as a raw TCP printer on a loopback
   port (listen(), the way a Zebra-compatible printer takes ZPL on port 9100), reads each label's field data,
   and answers printed or failed; misprints come from a seeded stream at a configurable rate. */
import * as net from "net";
import { EventEmitter } from "events";
import { checkLoopbackHost, checkPort, checkRate, seededRng, SimError, type Rng } from "./rng";
import { parseLabel, ZplStream, type ZplField } from "./zpl";
import { serialFromCode } from "./code";

export interface PrinterOptions {
  /** probability that a label comes out unusable (0..1, default 0) */
  misprintRate?: number;
  /** seed of the misprint stream (default 1) */
  seed?: number | string;
  /** loopback address to listen on (default 127.0.0.1) */
  host?: string;
  /** TCP port; 0 (default) picks a free one */
  port?: number;
  /** largest label accepted over TCP, in bytes (default 1,000,000) */
  maxLabelBytes?: number;
}

export interface PrintedLabel {
  /** 1-based number of the label since the printer started */
  index: number;
  status: "printed" | "failed";
  /** why a label failed */
  reason?: string;
  /** what the label's code holds (GS1: the element string with GS separators) */
  code: string | null;
  gs1: boolean;
  /** the serial number read from the code: AI (21), AI (00), or the whole non-GS1 code */
  serialNumber: string | null;
  fields: ZplField[];
}

export interface PrinterStats {
  labels: number;
  printed: number;
  failed: number;
  /** bytes received over TCP outside any ^XA ... ^XZ */
  ignoredBytes: number;
  connections: number;
}

/** Where a TCP job came from: the client's port on loopback identifies the connection. */
export interface JobSource {
  remoteAddress: string;
  remotePort: number;
}

export const MISPRINT_REASONS = ["ribbon wrinkle", "missing dots (print head)", "smudged DataMatrix", "label skew"] as const;

/**
 * Events: "label" (label: PrintedLabel, source: JobSource) for each label received over TCP as it completes;
 * "job" (labels: PrintedLabel[], source: JobSource) when a TCP connection ends; "error" (err) for a connection
 * that broke a limit (the connection is dropped, the printer keeps listening).
 */
export class SimPrinter extends EventEmitter {
  readonly misprintRate: number;
  readonly seed: number | string;
  private readonly rng: Rng;
  private readonly reasonRng: Rng;
  private readonly host: string;
  private readonly wantedPort: number;
  private readonly maxLabelBytes: number;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private count = 0;
  readonly stats: PrinterStats = { labels: 0, printed: 0, failed: 0, ignoredBytes: 0, connections: 0 };

  constructor(options: PrinterOptions = {}) {
    super();
    this.misprintRate = checkRate("misprintRate", options.misprintRate, 0);
    this.seed = options.seed ?? 1;
    this.rng = seededRng(this.seed, "printer/misprint");
    this.reasonRng = seededRng(this.seed, "printer/reason");
    this.host = checkLoopbackHost(options.host);
    this.wantedPort = checkPort(options.port, 0);
    this.maxLabelBytes = options.maxLabelBytes ?? 1_000_000;
  }

  /** Prints one label (its ZPL text); the next decision of the seeded stream says printed or failed. */
  printLabel(zpl: string): PrintedLabel {
    const label = parseLabel(zpl);
    this.count++;
    this.stats.labels++;
    const out: PrintedLabel = {
      index: this.count,
      status: "printed",
      code: label.code,
      gs1: label.gs1,
      serialNumber: label.code === null ? null : serialFromCode(label.code, label.gs1),
      fields: label.fields,
    };
    // one draw per label whatever happens, so the stream stays aligned with the label count
    const misprint = this.rng.chance(this.misprintRate);
    if (label.fields.length === 0) {
      out.status = "failed";
      out.reason = "the label has no field data (^FD)";
    } else if (misprint) {
      out.status = "failed";
      out.reason = this.reasonRng.pick(MISPRINT_REASONS);
    }
    if (out.status === "printed") this.stats.printed++;
    else this.stats.failed++;
    return out;
  }

  /** Prints every label of a ZPL job, in order. A job holding no complete label is refused (BadZpl). */
  print(zpl: string): PrintedLabel[] {
    if (typeof zpl !== "string") throw new SimError("BadZpl", "a print job is ZPL text");
    const stream = new ZplStream(this.maxLabelBytes);
    const raw = stream.push(zpl);
    if (raw.length === 0) throw new SimError("BadZpl", "the print job holds no complete ZPL label (^XA ... ^XZ)");
    return raw.map((r) => this.printLabel(r));
  }

  /** Starts the raw TCP printer on loopback; resolves with the address once it listens. */
  listen(): Promise<{ host: string; port: number }> {
    if (this.server) return Promise.resolve(this.address());
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", (err) => {
        this.server = undefined;
        reject(Object.assign(new SimError("PrinterListenFailed", `the simulated printer could not listen on ${this.host}:${this.wantedPort}: ${err.message}`), { cause: err }));
      });
      server.listen(this.wantedPort, this.host, () => resolve(this.address()));
    });
  }

  address(): { host: string; port: number } {
    const a = this.server?.address();
    if (!a || typeof a === "string") throw new SimError("PrinterNotListening", "the simulated printer is not listening");
    return { host: this.host, port: a.port };
  }

  get listening(): boolean {
    return !!this.server?.listening;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    this.stats.connections++;
    socket.setEncoding("latin1");
    const source: JobSource = { remoteAddress: socket.remoteAddress ?? "", remotePort: socket.remotePort ?? 0 };
    const stream = new ZplStream(this.maxLabelBytes);
    const labels: PrintedLabel[] = [];
    socket.on("data", (chunk: string) => {
      let raw: string[];
      try {
        raw = stream.push(chunk);
      } catch (err) {
        this.stats.ignoredBytes += stream.ignored;
        socket.destroy();
        if (this.listenerCount("error")) this.emit("error", err);
        return;
      }
      for (const r of raw) {
        const l = this.printLabel(r);
        labels.push(l);
        this.emit("label", l, source);
      }
    });
    const finish = () => {
      if (!this.sockets.delete(socket)) return;
      this.stats.ignoredBytes += stream.ignored + stream.pending;
      this.emit("job", labels, source);
    };
    socket.on("end", () => {
      finish();
      socket.end();
    });
    socket.on("close", finish);
    socket.on("error", () => socket.destroy());
  }

  /** Stops listening and drops open connections; resolves when the port is free. */
  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

/**
 * Sends one ZPL job to a raw TCP printer at host:port, the way a line PC sends to a real printer on port 9100.
 * Resolves with the local port the connection used (the printer sees it as the job's source) once all bytes are
 * written and the printer has closed its side.
 */
export function sendZpl(host: string, port: number, zpl: string, onConnect?: (localPort: number) => void, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host: checkLoopbackHost(host), port });
    let localPort = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SimError("PrinterTimeout", `the printer at ${host}:${port} did not take the job within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => {
      localPort = socket.localPort ?? 0;
      onConnect?.(localPort);
      socket.end(zpl, "latin1");
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(Object.assign(new SimError("PrinterUnavailable", `could not send the job to the printer at ${host}:${port}: ${err.message}`), { cause: err }));
    });
    socket.on("close", (hadError) => {
      clearTimeout(timer);
      if (!hadError) resolve(localPort);
    });
    socket.resume();
  });
}
