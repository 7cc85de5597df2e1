/* The site side of the two-instance test: a second Node-RED in its own process, started through Node-RED's
   runtime API with our package from nodesDir (as scripts/start.js does) and the flow in its user directory.
   Prints "SITE-READY {endpointUrl, certificate}" once its pss-opcua-server runs; stops cleanly on SIGTERM. */
import * as http from "http";
import * as path from "path";

const userDir = process.argv[2];
if (!userDir) {
  console.error("usage: opcua-site.js USER_DIR");
  process.exit(2);
}
const root = path.resolve(__dirname, "..", "..", "..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RED = require(require.resolve("node-red", { paths: [root] }));
const httpServer = http.createServer();

RED.init(httpServer, {
  userDir,
  flowFile: "flows.json",
  credentialSecret: false,
  nodesDir: [root],
  httpAdminRoot: false,
  httpNodeRoot: false,
  uiHost: "127.0.0.1",
  diagnostics: { enabled: false, ui: false },
  telemetry: { enabled: false },
  externalModules: { palette: { allowInstall: false } },
  logging: { console: { level: "warn", metrics: false, audit: false } },
  editorTheme: { tours: false, projects: { enabled: false } },
});

async function main(): Promise<void> {
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  await RED.start();
  let node: { started?: Promise<{ endpointUrl: string; certificate: Buffer } | undefined> } | null = null;
  for (let i = 0; i < 600 && !node?.started; i++) {
    node = RED.nodes.getNode("srv");
    if (!node?.started) await new Promise((r) => setTimeout(r, 100));
  }
  const server = await node?.started;
  if (!server) throw new Error("the site's pss-opcua-server did not start");
  process.stdout.write(`SITE-READY ${JSON.stringify({ endpointUrl: server.endpointUrl, certificate: server.certificate.toString("base64") })}\n`);
}

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  Promise.resolve(RED.stop())
    .then(() => new Promise<void>((resolve) => httpServer.close(() => resolve())))
    .then(() => process.exit(0), (err: Error) => {
      console.error(`site stop failed: ${err.message}`);
      process.exit(1);
    });
});

main().catch((err: Error) => {
  console.error(`SITE-FAILED ${err.stack ?? err.message}`);
  process.exit(1);
});
