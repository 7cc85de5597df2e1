/* The one input and error pipeline of every SerialFlow node: parse and call (the node's `run`), then either show
   the result's status and send it, or turn the failure into a red status and a refusal a person can read. */
import type { Node, NodeMessageInFlow, SendFn, DoneFn, StatusLike } from "./red";
import { asNodeError, logIfStorageError, readableError, statusText } from "./errors";

export interface Pipeline<R> {
  /** the node's name for what it does, in refusals: the OPC 30260 method name or the node type */
  what: string | (() => string);
  /** parse the message and call the core; throw to refuse (a node whose work sends as it goes may send here) */
  run(msg: NodeMessageInFlow, send: SendFn): Promise<R>;
  /** send the result; the status it returns is shown on the node */
  ok?(result: R, msg: NodeMessageInFlow, send: SendFn): StatusLike | void;
  /** the shape of the red status (a node that listens on a port shows a ring for its own faults) */
  errorShape?: "dot" | "ring";
  /** adds what the node knows about a failure (e.g. the serial number it was working on) */
  enrich?(err: Error & { code: string }, raw: unknown): void;
  /** told of every failure, after the red status is shown */
  failed?(err: Error & { code: string }): void;
}

/** Registers the node's input handler: run → status → send → done(), or run → red status → done(refusal). */
export function onInput<R>(node: Node, p: Pipeline<R>): void {
  node.on("input", (msg: NodeMessageInFlow, send: SendFn, done: DoneFn) => {
    let running: Promise<R>;
    try {
      running = p.run(msg, send);
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (result) => {
        try {
          const status = p.ok ? p.ok(result, msg, send) : undefined;
          if (status) node.status(status);
        } catch (err) {
          fail(err);
          return;
        }
        done();
      },
      (err: unknown) => fail(err),
    );
    function fail(err: unknown): void {
      const e = asNodeError(err);
      if (p.enrich) p.enrich(e, err);
      node.status({ fill: "red", shape: p.errorShape ?? "dot", text: statusText(e) });
      if (p.failed) p.failed(e);
      // Node-RED does not log an error a Catch node takes: a storage fault (busy, disk full) is logged all the same
      logIfStorageError(node as never, e);
      // a String, not an Error: see readableError
      done(readableError(e, typeof p.what === "function" ? p.what() : p.what) as unknown as Error);
    }
  });
}
