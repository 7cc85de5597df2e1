#!/usr/bin/env node
/* Second half of `npm run build` (after tsc): puts the editor files where Node-RED looks for them.
   - hand-written nodes: nodes/<type>/<type>.html and nodes/<type>/locales/** are copied to dist/nodes/<type>/
   - the 20 PSS function nodes: generated from the table in nodes/common/functions.ts (compiled to dist):
     a tiny <type>.js, a <type>.html with a literal RED.nodes.registerType (node-red-dev reads it),
     locales/en-US/<type>.html (help) and <type>.json (catalogue)
   - icons/ is copied next to every node's .js (Node-RED scans <dir of js>/icons). */
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const dist = path.join(root, "dist", "nodes");

function copyDir(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, e.name);
    const b = path.join(to, e.name);
    if (e.isDirectory()) copyDir(a, b);
    else fs.copyFileSync(a, b);
  }
}

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

// 1. hand-written node folders
const nodeDirs = fs.readdirSync(path.join(root, "nodes"), { withFileTypes: true })
  .filter((e) => e.isDirectory() && e.name.startsWith("pss-"))
  .map((e) => e.name);
for (const type of nodeDirs) {
  const src = path.join(root, "nodes", type);
  const out = path.join(dist, type);
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs.readdirSync(src)) {
    if (f.endsWith(".html")) fs.copyFileSync(path.join(src, f), path.join(out, f));
  }
  if (fs.existsSync(path.join(src, "locales"))) copyDir(path.join(src, "locales"), path.join(out, "locales"));
}

// 2. generated PSS function nodes
const { PSS_FUNCTIONS } = require(path.join(dist, "common", "functions.js"));
const COLORS = { PoolManager: "#E2D96E", EventManager: "#87A980", AggregationManager: "#C0DEED" };
const ICONS = { PoolManager: "serialflow-serial.svg", EventManager: "serialflow-event.svg", AggregationManager: "serialflow-aggregation.svg" };

function fields(fn) {
  const f = [];
  if (fn.shape === "request") f.push({ id: "count", label: "Count", def: 10, hint: "how many serial numbers to request (1 to 10,000,000); msg.payload.count overrides", validate: "RED.validators.number()" });
  if (fn.shape === "request" || fn.shape === "snCollection") f.push({ id: "snCollectionId", label: "SN collection", def: "", hint: fn.shape === "request" ? "ID of a new collection (empty: generated)" : "collection the numbers came from" });
  f.push({ id: "snFormat", label: "SN format", def: "SERIALONLY", hint: "SERIALONLY, LITERAL or EPCURI" });
  if (fn.shape !== "request") f.push({ id: "context", label: "Event context", def: "", hint: 'JSON key/values added to every call, e.g. {"lot":"L123"}' });
  return f;
}

function inputDocs(fn) {
  const rows = {
    request: [
      ["payload.count", "number", "how many serial numbers (a whole number, 1 or more); defaults to the node's Count"],
      ["payload.snCollectionId", "string", "ID for the new SN collection (optional)"],
      ["payload.snFormat", "string", "SERIALONLY (default), LITERAL or EPCURI"],
      ["payload.poolSelectionCriteria", "object", "key/values that select the pool; defaults to the configured pool"],
      ["payload.requestToken", "string", "continue a paged request by hand; without it the node collects every page itself"],
    ],
    snCollection: [
      ["payload.snCollection", "object", "{ id, serialNumbers: [...] }: the numbers and the collection they belong to (or payload.serialNumbers and payload.snCollectionId)"],
      ["payload.poolSelectionCriteria", "object", "key/values that select the pool (optional)"],
      ["payload.snFormat", "string", "format of the numbers sent (default SERIALONLY)"],
    ],
    snEvent: [
      ["payload.snCollection", "object", "{ id, serialNumbers: [...] } (or payload.serialNumbers)"],
      ["payload.snFormat", "string", "format of the numbers (default SERIALONLY)"],
      ["payload.eventContext", "object", "context such as order or lot (key/values)"],
    ],
    labelEvent: [
      ["payload.labelCollection", "object", "{ id, description, serialNumbers: [...], labelCollection: [{ id, labelProperties }], labelCollectionProperties: { lot, expiry, ... } }; a request's output (payload.snCollection) or payload.serialNumbers also work"],
      ["payload.snFormat", "string", "format of the numbers (default SERIALONLY)"],
      ["payload.eventContext", "object", "context such as order or lot (key/values)"],
    ],
    aggregation: [
      ["payload.aggregationElement", "array", "[{ parentElement: { id, labelProperties }, parentElementCollection: { serialNumbers: [...] } }], or payload.parent and payload.children"],
      ["payload.parentSnFormat", "string", "format of the parent numbers"],
      ["payload.packedElementSnFormat", "string", "format of the child numbers"],
      ["payload.aggregationContext", "object", "context such as order or lot (key/values)"],
    ],
  }[fn.shape];
  return rows;
}

function outputDocs(fn) {
  const base = [["payload.returnStatus", "string", fn.shape === "request"
    ? "the OPEN-SCS ReturnStatus name: NoError, or InsufficientSerialNumbers for a partial result (some numbers, fewer than asked for)"
    : "the OPEN-SCS ReturnStatus name: NoError"]];
  if (fn.shape === "request") base.push(["payload.snCollection", "object", "{ id, description, state, associatedPoolId, serialNumbers }"], ["payload.returnedRequestToken", "string", "non-empty when more pages wait (only when you page by hand)"]);
  else if (fn.shape === "labelEvent") base.push(["payload.labelCollection", "object", "the label collection as stored"], ["payload.serialNumbers", "array", "the serial numbers of the event"]);
  else if (fn.shape === "aggregation") base.push(["payload.aggregationElement", "array", "[{ parent, children }] as recorded"]);
  else base.push(["payload.snCollection", "object", "the numbers of the call"]);
  return base;
}

function dl(rows) {
  return ['<dl class="message-properties">', ...rows.map(([n, t, d]) => `  <dt>${esc(n)} <span class="property-type">${esc(t)}</span></dt>\n  <dd>${esc(d)}</dd>`), "</dl>"].join("\n");
}

/** A pool function's source and target states, from POOL_FUNCTIONS (via the table). */
function statesHtml(fn) {
  if (!fn.operation) return "";
  const from = fn.source.join(" or ");
  return `\n<p>Serial numbers: from <b>${esc(from)}</b> to <b>${esc(fn.target)}</b>${fn.operation === "push" ? " (numbers the pool does not know are added first)" : ""}.</p>`;
}

function requestHtml(fn) {
  if (fn.shape !== "request") return "";
  return `\n<p>When the pool holds fewer free numbers than asked for, the node sends the ones it got, with
<code>payload.returnStatus</code> <code>InsufficientSerialNumbers</code> and a yellow status. When it gets none at all,
nothing is sent: the node reports an error to a <b>Catch</b> node with <code>msg.error.code</code>
<code>InsufficientSerialNumbers</code> and a message naming the pool and the count asked for.</p>`;
}

function helpHtml(fn) {
  return `<script type="text/html" data-help-name="${fn.type}">
<p>${esc(fn.summary)} OPEN-SCS method <code>${fn.method}</code> (OPC 30260, ${fn.manager}).</p>
<h3>Inputs</h3>
${dl(inputDocs(fn))}
<h3>Outputs</h3>
${dl(outputDocs(fn))}
<h3>Details</h3>
<p>${esc(fn.effect)}</p>${statesHtml(fn)}${requestHtml(fn)}
<p>The call is one transaction in the pool: every serial number of the message changes, with its audit record, or none does.
A refusal (an unknown serial number, a transition the PSS state model forbids, an unknown collection or pool) goes to a
<b>Catch</b> node with the original message; <code>msg.error.code</code> names the rule and <code>msg.error.cause.details</code>
lists each serial number concerned with its state and the reason. The pool is left exactly as before.</p>
<p>Status: green with the last count, yellow for a partial result or a pool under its threshold (a top-up clears
"pool low"), red with the error code.</p>
</script>
`;
}

function editorHtml(fn) {
  const fs_ = fields(fn);
  const defaults = [
    `      name: { value: "" }`,
    `      pool: { value: "", type: "pss-pool", required: true }`,
    ...fs_.map((f) => `      ${f.id}: { value: ${JSON.stringify(f.def)}${f.validate ? `, validate: ${f.id === "count" ? "function (v) { return v === \"\" || (/^\\d+$/.test(String(v)) && Number(v) >= 1 && Number(v) <= 10000000); }" : f.validate}` : ""}${f.id === "context" ? ', validate: function (v) { if (!v) return true; try { var o = JSON.parse(v); return o !== null && typeof o === "object" && !Array.isArray(o); } catch (e) { return false; } }' : ""} }`),
  ].join(",\n");
  const rows = fs_.map((f) => `  <div class="form-row">
    <label for="node-input-${f.id}">${esc(f.label)}</label>
    <input type="text" id="node-input-${f.id}" placeholder="${esc(f.hint)}">
  </div>`).join("\n");
  const inputLabel = { request: "trigger or request arguments", snCollection: "SN collection", snEvent: "SN collection", labelEvent: "label collection", aggregation: "aggregation elements" }[fn.shape];
  return `<!-- generated by scripts/build-assets.js from nodes/common/functions.ts: edit the table, not this file -->
<script type="text/javascript">
  RED.nodes.registerType("${fn.type}", {
    category: "serialization",
    color: "${COLORS[fn.manager]}",
    defaults: {
${defaults}
    },
    inputs: 1,
    outputs: 1,
    icon: "${ICONS[fn.manager]}",
    paletteLabel: "${fn.method}",
    inputLabels: "${inputLabel}",
    outputLabels: ["${fn.method} result"],
    label: function () {
      return this.name || "${fn.method}";
    },
    labelStyle: function () {
      return this.name ? "node_label_italic" : "";
    }
  });
</script>

<script type="text/html" data-template-name="${fn.type}">
  <div class="form-row">
    <label for="node-input-pool"><i class="fa fa-database"></i> Pool</label>
    <input type="text" id="node-input-pool">
  </div>
${rows}
  <div class="form-row">
    <label for="node-input-name"><i class="fa fa-tag"></i> Name</label>
    <input type="text" id="node-input-name" placeholder="${fn.method}">
  </div>
  <div class="form-tips">${esc(fn.summary)}</div>
</script>
`;
}

for (const fn of PSS_FUNCTIONS) {
  const out = path.join(dist, fn.type);
  write(path.join(out, `${fn.type}.js`), `"use strict";\n// generated by scripts/build-assets.js from nodes/common/functions.ts\nmodule.exports = require("../common/pss-function").moduleFor(${JSON.stringify(fn.type)});\n`);
  write(path.join(out, `${fn.type}.html`), editorHtml(fn));
  write(path.join(out, "locales", "en-US", `${fn.type}.html`), helpHtml(fn));
  write(path.join(out, "locales", "en-US", `${fn.type}.json`), JSON.stringify({ [fn.type]: { label: { method: fn.method }, summary: fn.summary } }, null, 2) + "\n");
}

// 3. icons next to every node's .js
const iconSrc = path.join(root, "icons");
for (const e of fs.readdirSync(dist, { withFileTypes: true })) {
  if (e.isDirectory() && e.name.startsWith("pss-")) copyDir(iconSrc, path.join(dist, e.name, "icons"));
}
