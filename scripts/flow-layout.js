/* The size of a node as the Node-RED editor draws it, estimated from its label (view.js: width =
   max(100, 20 * ceil((label width + 50 + 7 if it has an input) / 20)), height = max(30, 15 * outputs)), so the
   example generator can place nodes without overlaps and a test can check every example's layout.
   Node-RED's x, y is a node's centre. */
"use strict";
const path = require("path");

const CHAR = 7.6; // px per character of the 14 px label font, a little over the average so estimates err wide
const STATUS = 22; // the status dot and text under a node
const NO_INPUT = new Set(["inject", "catch", "status", "complete", "link in", "comment", "pss-sim-plc"]);
const OUTPUTS = { inject: 1, debug: 0, comment: 0, catch: 1, "link in": 1, "link out": 0, "pss-sim-printer": 2, "pss-sim-camera": 2, "pss-sim-plc": 2, "pss-state-guard": 2, "pss-aggregator": 3, "pss-pool-admin": 2 };

let methods;
function methodOf(type) {
  if (!methods) {
    methods = {};
    try {
      for (const f of require(path.join(__dirname, "..", "dist", "nodes", "common", "functions.js")).PSS_FUNCTIONS) methods[f.type] = f.method;
    } catch {
      /* not built yet: the type stands in */
    }
  }
  return methods[type] || type;
}

/** The label the editor shows for a node (its name, else what the node type's label function gives). */
function labelOf(n) {
  if (n.name) return String(n.name);
  switch (n.type) {
    case "debug": return n.complete === "true" ? "msg" : `msg.${n.complete || "payload"}`;
    case "inject": return "timestamp";
    case "function": return "function";
    case "catch": return "catch: all";
    case "pss-pool-admin": return `pool ${n.action || "status"}`;
    case "pss-state-guard": return `guard: ${n.event || "event from msg"}`;
    case "pss-epcis": return "EPCIS 2.0";
    case "pss-label": return `label ${n.sidClass || ""}`;
    case "pss-opcua-server": return `OPEN-SCS server :${n.port}`;
    case "pss-sim-plc": return "sim PLC";
    case "pss-sim-camera": return "sim camera";
    case "pss-sim-printer": return "sim printer";
    case "pss-file-out": return String(n.file || "report file").split("/").pop();
    default: return n.type.startsWith("pss-") ? methodOf(n.type) : n.type;
  }
}

const isLink = (n) => n.type === "link in" || n.type === "link out";

/** {w, h} of the node box. */
function sizeOf(n) {
  if (isLink(n)) return { w: 30, h: 30 };
  const label = labelOf(n);
  const inputs = NO_INPUT.has(n.type) ? 0 : 1;
  const outputs = typeof n.outputs === "number" ? n.outputs : OUTPUTS[n.type] ?? (n.wires ? n.wires.length : 1);
  const w = Math.max(100, 20 * Math.ceil((label.length * CHAR + 50 + (inputs ? 7 : 0)) / 20));
  return { w, h: Math.max(30, outputs * 15) };
}

/** The width of the status text a node shows under its box once it ran (the longest it usually gets). */
function statusChars(n) {
  if (n.type === "debug") {
    if (!n.tostatus) return 0;
    return /file|filename/.test(String(n.statusVal)) ? 48 : 14;
  }
  if (n.type.startsWith("ui-")) return 0;
  switch (n.type) {
    case "inject": case "comment": case "link in": case "link out": case "catch": case "function": return 0;
    case "OpcUa-Client": return 30;
    case "pss-sim-printer": return 34;
    case "pss-sim-camera": return 34;
    case "pss-sim-plc": return n.opcua ? 62 : 42;
    case "pss-state-guard": return 18;
    case "pss-pool-admin": return 16;
    case "pss-aggregator": return 24;
    case "pss-label": return 20;
    case "pss-epcis": return 14 + String(n.outFile || "").length;
    case "pss-file-out": return 4 + String(n.file || "").length;
    default: return n.type.startsWith("pss-") ? 6 + methodOf(n.type).length : 12;
  }
}
const statusWidth = (n) => (statusChars(n) ? 14 + statusChars(n) * 5.8 : 0); // the status font: about 5.2 px a character, measured in the editor

/** The area a node takes on the canvas: its box, the inject / debug button beside it, the status text under it. */
function areaOf(n) {
  const { w, h } = sizeOf(n);
  let left = n.x - w / 2;
  let right = n.x + w / 2;
  if (n.type === "inject") left -= 25;
  if (n.type === "debug") right += 25;
  right = Math.max(right, n.x - w / 2 + statusWidth(n));
  // dashboard widgets (ui-*) show no status on the canvas
  const status = n.type === "comment" || n.type === "inject" || isLink(n) || n.type.startsWith("ui-") ? 0 : STATUS;
  return { id: n.id, left, right, top: n.y - h / 2, bottom: n.y + h / 2 + status };
}

/** Problems of a flow's layout: areas that overlap, nodes beyond the canvas. */
function layoutProblems(flow, bounds = { width: 1600, height: 1000 }) {
  const nodes = flow.filter((n) => typeof n.x === "number" && typeof n.y === "number");
  const out = [];
  const byTab = {};
  for (const n of nodes) (byTab[n.z] = byTab[n.z] || []).push(n);
  for (const list of Object.values(byTab)) {
    const areas = list.map(areaOf);
    for (const a of areas) {
      if (a.left < 0 || a.top < 0 || a.right > bounds.width || a.bottom > bounds.height) out.push(`${a.id} lies outside ${bounds.width}×${bounds.height} (${Math.round(a.left)}..${Math.round(a.right)}, ${Math.round(a.top)}..${Math.round(a.bottom)})`);
    }
    for (let i = 0; i < areas.length; i++) {
      for (let j = i + 1; j < areas.length; j++) {
        const a = areas[i];
        const b = areas[j];
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) out.push(`${a.id} overlaps ${b.id}`);
      }
    }
  }
  return out;
}

/** Left-align the nodes in columns: the x each node is given names its column (x values within 40 px share one);
 *  each column is as wide as its widest node (from its label), so no node overlaps its neighbour. */
function compact(nodes) {
  const rows = [...new Set(nodes.filter((n) => n._row !== undefined).map((n) => n._row))];
  for (const r of rows) compactRow(nodes.filter((n) => n._row === r));
  for (const n of nodes) delete n._row;
}

/** one row of the flow (a step: its nodes and those stacked under them) in columns */
function compactRow(nodes) {
  const placed = nodes.filter((n) => typeof n.x === "number");
  const xs = [...new Set(placed.map((n) => n.x))].sort((a, b) => a - b);
  const cols = [];
  for (const x of xs) {
    if (cols.length && x - cols[cols.length - 1].to <= 40) cols[cols.length - 1].to = x;
    else cols.push({ from: x, to: x });
  }
  const colOf = (x) => cols.findIndex((c) => x >= c.from && x <= c.to);
  const width = cols.map(() => 0);
  const extra = (n) => (n.type === "inject" ? 25 : 0) + (n.type === "debug" ? 25 : 0);
  for (const n of placed) width[colOf(n.x)] = Math.max(width[colOf(n.x)], sizeOf(n).w + extra(n), statusWidth(n));
  let left = 20;
  const lefts = width.map((w) => {
    const l = left;
    left += w + 20;
    return l;
  });
  for (const n of placed) n.x = Math.round(lefts[colOf(n.x)] + (n.type === "inject" ? 25 : 0) + sizeOf(n).w / 2);
}

module.exports = { labelOf, sizeOf, statusWidth, areaOf, layoutProblems, compact };
