/* node-red-node-test-helper set up for our compiled nodes. */
import * as fs from "fs";
import * as path from "path";
import helper from "node-red-node-test-helper";

helper.init(require.resolve("node-red"));

/* The helper keeps one loaded flow and one HTTP server. A test that fails between load and unload (a timeout
   on a busy machine) used to leave both behind, and the next five tests failed with "already wrapped" and
   "Cannot init without a stop". Each load and startServer now first clears what an earlier test left, so
   one failure stays one failure. */
type AnyFn = (...args: any[]) => any;
const h = helper as unknown as Record<string, AnyFn> & { _redNodes: any; _events: any };
const rawLoad = h.load.bind(helper);
const rawUnload = h.unload.bind(helper);
const rawStart = h.startServer.bind(helper);
const rawStop = h.stopServer.bind(helper);
let loaded = false;
let serving = false;

h.unload = async function unload(): Promise<void> {
  if (!loaded) return;
  loaded = false;
  await rawUnload();
};
/* The helper hands nodes a RED._ that returns the key: a status test would see "pss-pool-admin.status.free-low"
   where a user sees "40 free · low". Our nodes get a RED._ that reads their English catalogs
   (dist/nodes/<type>/locales/en-US/<type>.json) and fills in __name__ the way Node-RED's i18next does. */
let catalog: Record<string, unknown> | undefined;
function english(): Record<string, unknown> {
  if (catalog) return catalog;
  catalog = {};
  const dir = path.resolve(__dirname, "..", "..", "nodes");
  for (const type of fs.readdirSync(dir)) {
    const file = path.join(dir, type, "locales", "en-US", `${type}.json`);
    if (fs.existsSync(file)) Object.assign(catalog, JSON.parse(fs.readFileSync(file, "utf8")));
  }
  return catalog;
}
function translate(key: string, vars?: Record<string, unknown>): string {
  let v: unknown = english();
  for (const part of key.split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[part] : undefined;
  if (typeof v !== "string") return key;
  return v.replace(/__(\w+)__/g, (m, name: string) => (vars && name in vars ? String(vars[name]) : m));
}
h.load = async function load(...args: unknown[]): Promise<void> {
  if (loaded) await h.unload();
  loaded = true;
  const core = new Set(Object.values((helper as unknown as { _nodeModules: Record<string, unknown> })._nodeModules || {}));
  const wrap = (fn: unknown): unknown =>
    typeof fn === "function" && !core.has(fn)
      ? (red: { _: unknown }) => {
          red._ = translate;
          return (fn as AnyFn)(red);
        }
      : fn;
  args[0] = Array.isArray(args[0]) ? args[0].map(wrap) : wrap(args[0]);
  return rawLoad(...args);
};
h.stopServer = async function stopServer(cb?: AnyFn): Promise<void> {
  if (loaded) await h.unload().catch(() => undefined);
  if (!serving) {
    if (cb) cb();
    return;
  }
  serving = false;
  await rawStop(cb);
};
h.startServer = async function startServer(cb?: AnyFn): Promise<void> {
  if (serving) await h.stopServer();
  serving = true;
  await rawStart(cb);
};
/** The helper's own setFlows waits 300 ms for 'flows:started', listening only after the deploy: a deploy of an
 *  OPC UA server on a loaded 2-core machine takes longer. Listen first, wait as long as the test allows. */
h.setFlows = async function setFlows(flow: unknown, type = "full", credentials?: unknown): Promise<void> {
  const started = new Promise<void>((resolve) => h._events.once("flows:started", () => resolve()));
  await h._redNodes.setFlows(flow, credentials || {}, typeof type === "string" ? type : "full");
  await started;
};

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
