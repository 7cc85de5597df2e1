#!/usr/bin/env node
/* npm start: build if needed, then run the development Node-RED with a project-local user directory
   (.node-red/, ignored by git), our package loaded from this checkout, the demo flow and its operator screen
   (FlowFuse Dashboard 2.0) from examples/, listening on 127.0.0.1:1880 (SERIALFLOW_PORT and SERIALFLOW_USER_DIR
   override port and folder; SERIALFLOW_RESET_FLOW=1 re-copies the flows; SERIALFLOW_PLC_PORT moves the demo PLC's
   OPC UA port, 4842 in the examples, in the copied flows: the tests use it to run beside other Node-REDs).
   Start-up notices nobody can act on (NOTICES below) are hidden and explained once; SERIALFLOW_VERBOSE=1 shows all. */
"use strict";
const fs = require("fs");
const path = require("path");
const http = require("http");
const { spawn, spawnSync } = require("child_process");

const root = path.resolve(__dirname, "..");
const userDir = process.env.SERIALFLOW_USER_DIR ? path.resolve(process.env.SERIALFLOW_USER_DIR) : path.join(root, ".node-red");
const host = "127.0.0.1";
const port = Number(process.env.SERIALFLOW_PORT || 1880);
const DEMO = path.join(root, "examples", "Simulated line demo.json");
const SCREEN = path.join(root, "examples", "Operator screen.json");
const PLC_PORT = 4842;

function newest(dir) {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

function needsBuild() {
  const stamp = path.join(root, "dist", "nodes", "common", "functions.js");
  if (!fs.existsSync(stamp)) return true;
  const built = fs.statSync(stamp).mtimeMs;
  return ["nodes", "bin", "scripts", "icons"].some((d) => newest(path.join(root, d)) > built);
}

if (needsBuild()) {
  console.log("serialflow: building (npm run build) ...");
  const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error("serialflow: the build failed; Node-RED was not started");
    process.exit(r.status || 1);
  }
}

fs.mkdirSync(userDir, { recursive: true });
const flowFile = path.join(userDir, "flows.json");
if (!fs.existsSync(flowFile) || process.env.SERIALFLOW_RESET_FLOW === "1") {
  // the demo line and its operator screen, one flow file: the screen uses the demo's pool and PLC
  let text = JSON.stringify([...JSON.parse(fs.readFileSync(DEMO, "utf8")), ...JSON.parse(fs.readFileSync(SCREEN, "utf8"))], null, 2);
  const plcPort = process.env.SERIALFLOW_PLC_PORT;
  if (plcPort) {
    if (!/^\d{1,5}$/.test(plcPort) || Number(plcPort) > 65535) {
      console.error(`serialflow: SERIALFLOW_PLC_PORT must be a TCP port number; it is ${JSON.stringify(plcPort)}`);
      process.exit(1);
    }
    text = text.replace(new RegExp(`"opcuaPort": ${PLC_PORT}\\b`, "g"), `"opcuaPort": ${Number(plcPort)}`).replace(new RegExp(`127\\.0\\.0\\.1:${PLC_PORT}\\b`, "g"), `127.0.0.1:${Number(plcPort)}`);
  }
  fs.writeFileSync(flowFile, text + "\n");
  console.log(`serialflow: demo flow copied from examples/${path.basename(DEMO)}, with its operator screen (examples/${path.basename(SCREEN)})`);
}
const settingsFile = path.join(userDir, "settings.js");
fs.writeFileSync(
  settingsFile,
  `// written by scripts/start.js on every start: edit that script, not this file
module.exports = {
  uiHost: ${JSON.stringify(host)},
  uiPort: ${port},
  flowFile: "flows.json",
  flowFilePretty: true,
  // our package, loaded straight from the checkout
  nodesDir: [${JSON.stringify(root)}],
  // development only: credentials stored unencrypted in the project-local user directory
  credentialSecret: false,
  diagnostics: { enabled: false, ui: false },
  telemetry: { enabled: false },
  externalModules: { palette: { allowInstall: false } },
  logging: { console: { level: "info", metrics: false, audit: false } },
  editorTheme: { tours: false, projects: { enabled: false } },
};
`,
);

// Start-up notices a user of the demo cannot act on: hidden, each explained once (SERIALFLOW_VERBOSE=1 shows them).
// README "Start-up notices" says the same.
const NOTICES = [
  {
    // a box printed when node-red-contrib-opcua (its OpcUa-Browser node) loads node-opcua-client-crawler
    box: /node-opcua-client-crawler module has been deprecated/,
    why: "node-red-contrib-opcua loads node-opcua-client-crawler, which prints a deprecation box on load; SerialFlow does not use the crawler",
  },
  {
    line: /\[NODE-OPCUA-W27\]|--security-revert=CVE-2023-46809/,
    why: "node-opcua's NODE-OPCUA-W27 (this Node.js no longer decrypts RSA PKCS#1 v1.5): only the policies Basic128Rsa15 and Basic256 need it, and no SerialFlow endpoint offers them",
  },
];
const explained = new Set();
function explain(n) {
  if (explained.has(n)) return;
  explained.add(n);
  console.log(`serialflow: hidden start-up notice: ${n.why} (SERIALFLOW_VERBOSE=1 shows it)`);
}
// eslint-disable-next-line no-control-regex
const plain = (l) => l.replace(/\x1b\[[0-9;]*m/g, "");
const BOX_EDGE = /^\+-{10,}\+$/;

/** Copies the child's output line by line to `out`, without the notices above. */
function filtered(stream, out) {
  let rest = "";
  let box = null; // lines of a +---+ box, held until it closes
  const line = (l) => {
    const p = plain(l);
    if (box) {
      box.push(l);
      if (!BOX_EDGE.test(p.trim())) return;
      const n = NOTICES.find((x) => x.box && box.some((b) => x.box.test(plain(b))));
      if (n) explain(n);
      else out.write(box.join("\n") + "\n");
      box = null;
      return;
    }
    if (BOX_EDGE.test(p.trim())) {
      box = [l];
      return;
    }
    const n = NOTICES.find((x) => x.line && x.line.test(p));
    if (n) return explain(n);
    out.write(l + "\n");
  };
  stream.setEncoding("utf8");
  stream.on("data", (d) => {
    const lines = (rest + d).split("\n");
    rest = lines.pop();
    for (const l of lines) line(l);
  });
  stream.on("end", () => {
    if (box) out.write(box.join("\n") + "\n");
    if (rest) out.write(rest);
  });
}

const verbose = process.env.SERIALFLOW_VERBOSE === "1";
const red = require.resolve("node-red/red.js", { paths: [root] });
const child = spawn(process.execPath, [red, "--userDir", userDir, "--settings", settingsFile], { cwd: root, stdio: verbose ? "inherit" : ["inherit", "pipe", "pipe"] });
if (!verbose) {
  filtered(child.stdout, process.stdout);
  filtered(child.stderr, process.stderr);
}
const url = `http://${host}:${port}/`;

let announced = false;
const poll = setInterval(() => {
  http.get(url, (res) => {
    res.resume();
    if (res.statusCode === 200 && !announced) {
      announced = true;
      clearInterval(poll);
      console.log(`\nSerialFlow: the Node-RED editor is at ${url}\nSerialFlow: the operator screen is at ${url}dashboard/line\n`);
    }
  }).on("error", () => {});
}, 500);

for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
// "close": after the child's output has been copied out to the end
child.on("close", (code, signal) => {
  clearInterval(poll);
  process.exit(code ?? (signal ? 0 : 1));
});
