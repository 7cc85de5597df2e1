/* node-red-node-test-helper set up for our compiled nodes. */
import * as path from "path";
import helper from "node-red-node-test-helper";

helper.init(require.resolve("node-red"));

export { helper };

const NODES_DIR = path.resolve(__dirname, "..", "..", "nodes");

/** The module function of a node type, from dist/nodes/<type>/<type>.js. */
export function nodeModule(type: string): unknown {
  const mod = require(path.join(NODES_DIR, type, `${type}.js`));
  return mod && mod.__esModule ? mod.default : mod;
}

/** Every node module of the package, as package.json's node-red.nodes lists them. */
export function allNodeModules(): unknown[] {
  const pkg = require(path.resolve(__dirname, "..", "..", "..", "package.json"));
  return Object.keys(pkg["node-red"].nodes).map((t) => nodeModule(t));
}

/** Resolve when node `id` of the loaded flow receives its next `input` message. */
export function nextMessage(id: string, timeoutMs = 10000): Promise<Record<string, any>> {
  const n = helper.getNode(id);
  if (!n) throw new Error(`test flow has no node ${id}`);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`node ${id} received no message within ${timeoutMs} ms`)), timeoutMs);
    n.once("input", (msg: Record<string, any>) => {
      clearTimeout(t);
      resolve(msg);
    });
  });
}

/** A node module of Node-RED's own core set (catch, status, complete, ...), which helper.load does not
 *  register by itself: a flow with a Catch node must load it. */
export function coreNodeModule(file: "25-catch" | "25-status" | "24-complete"): unknown {
  const nodesDir = path.dirname(require.resolve("@node-red/nodes/package.json", { paths: [path.dirname(require.resolve("node-red"))] }));
  return require(path.join(nodesDir, "core", "common", `${file}.js`));
}
