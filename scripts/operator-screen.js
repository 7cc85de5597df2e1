#!/usr/bin/env node
/* Writes examples/Operator screen.json: the operator screen of the simulated line demo, a FlowFuse Dashboard 2.0
   page (@flowfuse/node-red-dashboard) fed by the demo's pool (pss-pool-admin) and by its PLC read over OPC UA with
   node-red-contrib-opcua's OpcUa-Client, the way an integrator reads a real PLC. `npm start` deploys it beside the
   demo (it uses the demo's pool config node "demo-pool" and receives the line's events from the demo's link out
   "to the operator screen"). The dashboard nodes carry every property the editor gives a new node of their type
   (Dashboard 1.31), so the editor shows nothing changed after import.
   A folder as the first argument: write there instead (the test that compares the committed example does). */
"use strict";
const fs = require("fs");
const path = require("path");

/** the fixed port the demo's PLC serves its counters on (the PLC over OPC UA example uses 4841) */
const PLC_PORT = 4842;
const NS = "ns=1;s=SimulatedLine.";
const TAB = "op-tab";
const LOT = "L2026A";
const EXPIRY = "281231";

/* ---- function node bodies (they run in Node-RED; flow context is the operator tab's) ---- */

const READS = `// one read per PLC counter: the OpcUa-Client reads the NodeId in msg.topic
return [["Total", "Good", "Rejected", "Pending"].map((v) => ({ topic: "${NS}" + v }))];`;

const LINE = `// the PLC's counters, read over OPC UA: good, rejected and the line rate (units per minute)
const name = String(msg.topic).split(".").pop();
const got = context.get("got") || {};
got[name] = Number(msg.payload);
context.set("got", got);
if (!["Total", "Good", "Rejected", "Pending"].every((k) => k in got)) return null;
context.set("got", {});
const now = Date.now();
const samples = (flow.get("samples") || []).filter((s) => now - s.t <= 60000);
samples.push({ t: now, total: got.Total });
flow.set("samples", samples);
// over the last minute; in the first 30 s of reads the units are spread over 30 s (no peak from a burst)
const first = samples[0];
const minutes = Math.max(0.5, (now - first.t) / 60000);
const rate = Math.max(0, Math.round((got.Total - first.total) / minutes));
flow.set("rate", rate);
flow.set("plc", got);
const f = (n) => n.toLocaleString("en-US");
return [
  { topic: "rate", payload: f(rate) + " units/min" },
  { topic: "good", payload: f(got.Good) },
  { topic: "rejected", payload: f(got.Rejected) },
  { topic: "units/min", payload: rate },
];`;

const POOL = `// the pool's counts and the current batch, from pss-pool-admin (reconcile without apply: counts only, nothing changes)
const p = msg.payload;
const st = p.status;
const rep = p.report;
if (!st || !rep) return null;
const f = (n) => n.toLocaleString("en-US");
const rate = flow.get("rate") || 0;
const left = rate > 0 ? f(Math.floor(st.available / rate)) + " min at " + f(rate) + " units/min" : "line stopped";
const states = Object.entries(rep.pool.states).filter(([, n]) => n > 0).map(([state, n]) => ({ state, count: f(n) }));
const lot = env.get("LOT");
const expiry = env.get("EXPIRY");
const b = rep.lots.find((l) => l.lot === lot);
const batch = b ? [
  ["labels printed", b.printed],
  ["commissioned (in stock)", b.states.Commissioned],
  ["released (shipped)", b.states.Released],
  ["labels scrapped", b.scrapped],
  ["still allocated", b.stillAllocated],
  ["still encoded", b.stillEncoded],
  ["cases open", b.openParents],
].map(([what, n]) => ({ what, count: f(n) })) : [];
const exp = /^\\d{6}$/.test(expiry) ? "20" + expiry.slice(0, 2) + "-" + expiry.slice(2, 4) + "-" + expiry.slice(4, 6) : expiry;
const low = st.available < st.threshold;
const alarm = low && !context.get("low") ? { topic: "pool low", payload: "pool " + p.poolId + " low: " + f(st.available) + " free (threshold " + f(st.threshold) + ")" } : null;
context.set("low", low);
return [
  { payload: st.available },
  { payload: left },
  { payload: states },
  { payload: lot + " · expiry " + exp },
  { payload: batch },
  alarm,
];`;

const EVENTS = `// what the line reports through the link: rejects with their cause, EPCIS documents written, device faults
const f = (n) => n.toLocaleString("en-US");
const time = new Date().toLocaleTimeString("en-GB");
const p = msg.payload || {};
let cause = null;
if (msg.status) {
  // a status of the printer or the camera: red is a fault
  if (msg.status.fill !== "red") return null;
  return [null, null, { topic: "device fault", payload: (msg.status.source.name || msg.status.source.type) + ": " + (msg.status.text || "fault") }];
}
if (msg.error) {
  const src = msg.error.source || {};
  if (!/^pss-sim-(printer|camera)$/.test(String(src.type))) return null;
  return [null, null, { topic: "device fault", payload: (src.name || src.type) + ": " + msg.error.message }];
}
if (Array.isArray(p.failures)) cause = "misprint";
else if (p.code === null && p.reason) cause = "no read";
else if (msg.reason) cause = /^grade/.test(msg.reason) ? "low grade" : msg.reason;
if (cause) {
  const causes = flow.get("causes") || {};
  causes[cause] = (causes[cause] || 0) + (Array.isArray(p.serialNumbers) && p.serialNumbers.length ? p.serialNumbers.length : 1);
  flow.set("causes", causes);
  return [{ payload: Object.entries(causes).sort((a, b) => b[1] - a[1]).map(([c, n]) => ({ cause: c, units: f(n) })) }, null, null];
}
if (typeof p.file === "string") {
  const docs = flow.get("docs") || [];
  docs.unshift({ time, file: p.file.split(/[\\\\/]/).pop(), events: f(p.events || 0) });
  flow.set("docs", docs.slice(0, 5));
  return [null, { payload: docs.slice(0, 5) }, null];
}
return null;`;

const ALARMS = `// the last 10 alarms, newest first; each also pops up on the screen
const pool = msg.topic === "pool-low";
const text = pool ? "pool " + msg.payload.poolId + " low: " + msg.payload.available.toLocaleString("en-US") + " free" : String(msg.payload);
const alarms = flow.get("alarms") || [];
alarms.unshift({ time: new Date().toLocaleTimeString("en-GB"), alarm: pool ? "pool low" : msg.topic, text });
flow.set("alarms", alarms.slice(0, 10));
return [{ payload: alarms.slice(0, 10) }, { payload: text }];`;

/* ---- the flow ---- */

const nodes = [];
const add = (n) => (nodes.push(n), n);
const on = (id, type, name, x, y, wires, extra = {}) => add({ id, type, z: TAB, name, ...extra, x, y, wires });
const fn = (id, name, func, outputs, x, y, wires) =>
  on(id, "function", name, x, y, wires, { func, outputs, timeout: 0, noerr: 0, initialize: "", finalize: "", libs: [] });

// dashboard config: one base (the dashboard at /dashboard), one page, its groups, a theme
const uiBase = {
  id: "op-ui-base", type: "ui-base", name: "SerialFlow", path: "/dashboard", appIcon: "", includeClientData: true,
  acceptsClientConfig: ["ui-notification", "ui-control"], showPathInSidebar: false, headerContent: "page", navigationStyle: "default",
  titleBarStyle: "default", showReconnectNotification: true, notificationDisplayTime: 1, showDisconnectNotification: true, allowInstall: false,
};
const uiTheme = {
  id: "op-ui-theme", type: "ui-theme", name: "SerialFlow",
  colors: { surface: "#1f3a5f", primary: "#0d74ce", bgPage: "#eef1f5", groupBg: "#ffffff", groupOutline: "#d9d9e0" },
  sizes: { density: "default", pagePadding: "12px", groupGap: "12px", groupBorderRadius: "4px", widgetGap: "12px" },
};
const uiPage = {
  id: "op-ui-page", type: "ui-page", name: "Operator screen", ui: "op-ui-base", path: "/line", icon: "factory", layout: "grid",
  theme: "op-ui-theme",
  breakpoints: [{ name: "Default", px: 0, cols: 3 }, { name: "Tablet", px: 576, cols: 6 }, { name: "Small Desktop", px: 768, cols: 9 }, { name: "Desktop", px: 1024, cols: 12 }],
  order: 1, className: "", visible: "true", disabled: "false",
};
const group = (id, name, order, width = 4) => ({
  id, type: "ui-group", name, page: "op-ui-page", width, height: 1, order, showTitle: true, className: "", visible: true, disabled: false, groupType: "default",
});
const G = {
  line: group("op-g-line", "Line", 1),
  pool: group("op-g-pool", "Serial number pool", 2),
  batch: group("op-g-batch", "Current batch", 3),
  causes: group("op-g-causes", "Rejected by cause", 4),
  docs: group("op-g-docs", "Last documents sent", 5),
  alarms: group("op-g-alarms", "Alarms", 6),
};

const text = (id, g, order, label, x, y) =>
  on(id, "ui-text", label, x, y, [], {
    group: g.id, order, width: 0, height: 0, label, format: "{{msg.payload}}", layout: "row-spread", style: false, font: "Helvetica",
    fontSize: 16, color: "#717171", wrapText: false, className: "", value: "payload", valueType: "msg",
  });
const table = (id, g, order, label, columns, x, y) =>
  on(id, "ui-table", label || g.name, x, y, [], {
    group: g.id, label, order, width: 0, height: 0, maxrows: 0, passthru: false, autocols: false, showSearch: false, deselect: true,
    selectionType: "none", columns: columns.map(([key, title]) => ({ title, key, keyType: "key", type: "text", width: "", align: "start" })),
    mobileBreakpoint: "sm", mobileBreakpointType: "defaults", action: "replace", className: "",
  });

add({
  id: TAB, type: "tab", label: "Operator screen", disabled: false,
  info: `The operator screen of the simulated line demo, on FlowFuse Dashboard 2.0: http://127.0.0.1:1880/dashboard/line when \`npm start\` runs.`,
  env: [{ name: "LOT", value: LOT, type: "str" }, { name: "EXPIRY", value: EXPIRY, type: "str" }],
});
on("op-comment", "comment", "What this shows / what to change for a real line", 230, 40, [], {
  info: `The operator screen of the 'Simulated line demo' tab (FlowFuse Dashboard 2.0, @flowfuse/node-red-dashboard): open http://127.0.0.1:1880/dashboard/line. Press 'Start line' or 'Run 20 units' on the demo tab and watch it.

1. Every 2 s the OpcUa-Client (node-red-contrib-opcua) reads the line PLC's counters Total, Good and Rejected (${NS}Total ...) from the demo's simulated PLC on the FIXED port ${PLC_PORT} of 127.0.0.1 (OpcUa-Endpoint 'demo line PLC'; if ${PLC_PORT} is taken on your machine, change it there and on the demo's PLC node): good and rejected units, and the line rate in units per minute over the last minute, drawn as a chart.
2. Every 2 s pss-pool-admin reads the pool DEMO's counts and the batch report (the reconcile action without apply only counts: it changes nothing): the pool level (free numbers: Unassigned + Unallocated) on a gauge, the minutes of production left at the current rate, the counts by PSS state, and the current batch: lot and expiry (the tab's environment variables LOT and EXPIRY) with its labels printed, commissioned, released, scrapped, and numbers still in flight.
3. The demo's link out 'to the operator screen' sends the rejects with their cause (misprint from the printer, no read from the camera, wrong code or low grade from the check after it), each EPCIS document written (the last 5 are listed) and the faults of the printer and the camera (a red status or an error of either).
4. Alarms (the last 10, each also a pop-up notification): the pool under its low threshold (pss-pool-admin's second output, and the counts), a printer or camera fault.

For a real line: point the OpcUa-Endpoint at your PLC and the NodeIds at its counters, link your printer's and camera's fault signals and your reject reasons to the link in, and set LOT and EXPIRY on this tab (or feed them from your batch record).`,
});

// row 1: the PLC's counters over OPC UA
on("op-every", "inject", "every 2 s", 110, 120, [["op-plc-reads", "op-pool-counts"]], {
  props: [{ p: "payload" }], repeat: "2", crontab: "", once: true, onceDelay: "1", topic: "", payload: "", payloadType: "date",
});
fn("op-plc-reads", "one read per counter", READS, 1, 320, 120, [["op-plc-client"]]);
add({ id: "op-plc-endpoint", type: "OpcUa-Endpoint", name: "demo line PLC", endpoint: `opc.tcp://127.0.0.1:${PLC_PORT}`, secpol: "None", secmode: "None", none: true, login: false, usercert: false, usercertificate: "", userprivatekey: "" });
on("op-plc-client", "OpcUa-Client", "line PLC over OPC UA", 580, 120, [["op-line"], [], []], {
  endpoint: "op-plc-endpoint", action: "read", deadbandtype: "a", deadbandvalue: 1, time: 10, timeUnit: "s", certificate: "n", localfile: "", localkeyfile: "",
  securitymode: "None", securitypolicy: "None", useTransport: false, maxChunkCount: 1, maxMessageSize: 8192, receiveBufferSize: 8192, sendBufferSize: 8192,
  setstatusandtime: false, keepsessionalive: false, applicationName: "", applicationUri: "",
});
fn("op-line", "good, rejected, line rate", LINE, 4, 860, 120, [["op-rate"], ["op-good"], ["op-rejected"], ["op-rate-chart"]]);
text("op-rate", G.line, 1, "Line rate", 1100, 60);
text("op-good", G.line, 2, "Good units", 1100, 100);
text("op-rejected", G.line, 3, "Rejected units", 1100, 140);
on("op-rate-chart", "ui-chart", "line rate chart", 1100, 180, [[]], {
  group: G.line.id, label: "units per minute", order: 4, chartType: "line", category: "topic", categoryType: "msg", xAxisLabel: "", xAxisProperty: "",
  xAxisPropertyType: "timestamp", xAxisType: "time", xAxisFormat: "", xAxisFormatType: "auto", xmin: "", xmax: "", yAxisLabel: "", yAxisProperty: "payload",
  yAxisPropertyType: "msg", ymin: "0", ymax: "", bins: 10, action: "append", stackSeries: false, pointShape: "circle", pointRadius: 2, showLegend: false,
  removeOlder: 10, removeOlderUnit: "60", removeOlderPoints: "", colors: ["#0095FF", "#FF0000", "#FF7F0E", "#2CA02C", "#A347E1", "#D62728", "#FF9896", "#9467BD", "#C5B0D5"],
  textColor: ["#666666"], textColorDefault: true, gridColor: ["#e5e5e5"], gridColorDefault: true, width: 0, height: 4, className: "", interpolation: "linear",
});

// row 2: the pool and the current batch
on("op-pool-counts", "pss-pool-admin", "pool and batch counts", 340, 300, [["op-pool"], ["op-alarms"]], { pool: "demo-pool", action: "reconcile", count: 1000, olderThan: "1d" });
fn("op-pool", "pool level, minutes left, batch", POOL, 6, 620, 300, [["op-level"], ["op-left"], ["op-states"], ["op-lot"], ["op-batch"], ["op-alarms"]]);
on("op-level", "ui-gauge", "pool level", 1100, 240, [], {
  group: G.pool.id, order: 1, value: "payload", valueType: "msg", width: 0, height: 3, gtype: "gauge-half", gstyle: "rounded", title: "pool level",
  alwaysShowTitle: false, floatingTitlePosition: "top-left", units: "free numbers", icon: "", prefix: "", suffix: "",
  segments: [{ color: "#EA5353", from: 0 }, { color: "#FFC800", from: 200 }, { color: "#5CD65C", from: 500 }], min: 0, max: 1500,
  sizeThickness: 16, sizeGap: 4, sizeKeyThickness: 8, styleRounded: true, styleGlow: false, className: "",
});
text("op-left", G.pool, 2, "Production left", 1100, 280);
table("op-states", G.pool, 3, "Counts by state", [["state", "State"], ["count", "Numbers"]], 1100, 320);
text("op-lot", G.batch, 1, "Lot", 1100, 360);
table("op-batch", G.batch, 2, "Batch counts", [["what", "Units"], ["count", "Count"]], 1100, 400);

// row 3: what the line reports, and the alarms
add({ id: "op-from-line", type: "link in", z: TAB, name: "from the line", links: ["demo-to-screen"], x: 95, y: 520, wires: [["op-events"]] });
fn("op-events", "rejects, documents, faults", EVENTS, 3, 340, 520, [["op-causes"], ["op-docs"], ["op-alarms"]]);
table("op-causes", G.causes, 1, "", [["cause", "Cause"], ["units", "Units"]], 1100, 480);
table("op-docs", G.docs, 1, "", [["time", "Time"], ["file", "EPCIS document"], ["events", "Events"]], 1100, 520);
fn("op-alarms", "alarms", ALARMS, 2, 860, 600, [["op-alarm-list"], ["op-alarm-pop"]]);
table("op-alarm-list", G.alarms, 1, "", [["time", "Time"], ["alarm", "Alarm"], ["text", "What"]], 1100, 580);
on("op-alarm-pop", "ui-notification", "alarm pop-up", 1100, 640, [[]], {
  ui: "op-ui-base", position: "top right", colorDefault: false, color: "#ea5353", displayTime: "5", showCountdown: true, outputs: 1, allowDismiss: true,
  dismissText: "Close", allowConfirm: false, confirmText: "Confirm", raw: false, className: "",
});

nodes.push(uiBase, uiTheme, uiPage, ...Object.values(G));

const outDir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(__dirname, "..", "examples");
fs.writeFileSync(path.join(outDir, "Operator screen.json"), JSON.stringify(nodes, null, 4) + "\n");
console.log(`Operator screen.json: ${nodes.length} nodes`);

