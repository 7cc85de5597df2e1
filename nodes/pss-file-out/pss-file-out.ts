/* pss-file-out: writes msg.payload (text as is, anything else as JSON) to a new file under the Node-RED user
   directory whose name never collides ({seq} or {time} in the name; a name without one gets -{seq}), for the
   reports a market needs on disk. The path goes out in msg.file and msg.filename and shows in the node status. */
import * as os from "os";
import * as fs from "fs";
import * as path from "path";
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { InputError, asNodeError, statusText } from "../common/errors";
import { reserveOutFile, withSequence } from "../common/out-file";

export interface FileOutNodeDef extends NodeDef {
  file?: string;
}

export default function (RED: NodeAPI): void {
  function PssFileOutNode(this: Node, config: FileOutNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const userDir = (RED.settings as { userDir?: string }).userDir || path.join(os.homedir(), ".node-red");
    const pattern = withSequence(config.file && config.file.trim() ? config.file.trim() : "serialflow/out/report.json");

    node.on("input", (msg: NodeMessageInFlow, send: SendFn, done: DoneFn) => {
      let file: string | undefined;
      try {
        const p = msg.payload;
        if (p === undefined || p === null) throw new InputError("InvalidArgument", "msg.payload is empty: nothing to write");
        const text = typeof p === "string" ? p : Buffer.isBuffer(p) ? p : JSON.stringify(p, null, 2) + "\n";
        file = reserveOutFile(userDir, pattern);
        fs.writeFileSync(file, text);
        const rel = path.relative(userDir, file);
        node.status({ fill: "green", shape: "dot", text: `→ ${rel}` });
        const m = msg as Record<string, unknown>;
        m.file = file;
        m.filename = file;
        send(msg);
        done();
      } catch (err) {
        if (file) fs.rmSync(file, { force: true });
        const e = asNodeError(err);
        node.status({ fill: "red", shape: "dot", text: statusText(e) });
        done(e);
      }
    });
  }
  RED.nodes.registerType("pss-file-out", PssFileOutNode as never);
}
