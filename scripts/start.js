#!/usr/bin/env node
/* npm start: build if needed, then run the development Node-RED with a project-local user directory
   (.node-red/, ignored by git), our package loaded from this checkout, the demo flow and its operator screen
   (FlowFuse Dashboard 2.0) from examples/, listening on 127.0.0.1:1880 (SERIALFLOW_PORT and SERIALFLOW_USER_DIR
   override port and folder; SERIALFLOW_RESET_FLOW=1 re-copies the flows; SERIALFLOW_PLC_PORT moves the demo PLC's
   OPC UA port, 4842 in the examples, in the copied flows: the tests use it to run beside other Node-REDs). */
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

const red = require.resolve("node-red/red.js", { paths: [root] });
const child = spawn(process.execPath, [red, "--userDir", userDir, "--settings", settingsFile], { cwd: root, stdio: "inherit" });
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
child.on("exit", (code, signal) => {
  clearInterval(poll);
  process.exit(code ?? (signal ? 0 : 1));
});
