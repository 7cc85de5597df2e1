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

/** the lists an editor file takes from the core, so a dialog never offers what the runtime refuses */
function fill(html) {
  return html.replace("/*SERIALFLOW:SID_CLASSES*/[]", () => {
    const { listSidClasses } = require(path.join(dist, "core", "sid", "index.js"));
    return JSON.stringify(listSidClasses().map((c) => ({ id: c.sidClassId, market: c.market, description: c.sidClassDescription.split(/[:(;]/)[0].trim().slice(0, 60) })));
  });
}

// 1. hand-written node folders
const nodeDirs = fs.readdirSync(path.join(root, "nodes"), { withFileTypes: true })
  .filter((e) => e.isDirectory() && e.name.startsWith("pss-"))
  .map((e) => e.name);
for (const type of nodeDirs) {
  const src = path.join(root, "nodes", type);
  const out = path.join(dist, type);
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs.readdirSync(src)) {
    if (f.endsWith(".html")) fs.writeFileSync(path.join(out, f), fill(fs.readFileSync(path.join(src, f), "utf8")));
  }
  if (fs.existsSync(path.join(src, "locales"))) copyDir(path.join(src, "locales"), path.join(out, "locales"));
}

// 2. generated PSS function nodes
const { PSS_FUNCTIONS } = require(path.join(dist, "common", "functions.js"));
const { SN_FORMATS } = require(path.join(dist, "core", "store", "index.js"));
const { PALETTE, DE, WORDS, EXAMPLES } = require("./function-texts.js");
const LANGS = { "en-US": "en", de: "de" };

/** the families the palette tells apart, by colour and icon */
function family(fn) {
  if (fn.type.startsWith("pss-labels-")) return { color: "#F3B567", icon: "serialflow-label.svg" };
  if (fn.type.startsWith("pss-sid-")) return { color: "#87A980", icon: "serialflow-sid.svg" };
  if (fn.manager === "AggregationManager") return { color: "#C0DEED", icon: "serialflow-aggregation.svg" };
  return { color: "#E2D96E", icon: "serialflow-serial.svg" };
}

/** label events that carry the batch: lot and expiry are stored with their label collection */
const BATCH_FIELDS = new Set(["pss-labels-encoding", "pss-sid-commissioning"]);
const DYN = '"msg", "flow", "global", "env"';

function fields(fn) {
  const f = [];
  if (fn.shape === "request") f.push({ id: "count", def: "10", typed: "num", ph: "count",
    check: 't === "num" ? v === "" || (/^\\d+$/.test(String(v)) && Number(v) >= 1 && Number(v) <= 10000000) : String(v).trim() !== ""' });
  if (fn.shape === "request" || fn.shape === "snCollection") f.push({ id: "snCollectionId", def: "", typed: "str", ph: fn.shape === "request" ? "snCollectionIdNew" : "snCollectionId",
    check: 't === "str" ? /^[^\\u0000-\\u001f\\u007f]{0,256}$/.test(String(v)) : String(v).trim() !== ""' });
  f.push({ id: "snFormat", def: "SERIALONLY", select: SN_FORMATS });
  if (BATCH_FIELDS.has(fn.type)) {
    f.push({ id: "lot", def: "", typed: "str", ph: "lot", check: 't === "str" ? /^[!"%-?A-Z_a-z]{0,20}$/.test(String(v)) : String(v).trim() !== ""' });
    f.push({ id: "expiry", def: "", typed: "str", ph: "expiry",
      check: 't === "str" ? (v === "" || /^\\d{2}(0[1-9]|1[0-2])([0-2]\\d|3[01])$/.test(v) || /^\\d{4}-(0[1-9]|1[0-2])-([0-2]\\d|3[01])$/.test(v)) : String(v).trim() !== ""' });
  }
  if (fn.shape !== "request") f.push({ id: "context", def: "", typed: "json",
    check: 'if (t !== "json") return String(v).trim() !== ""; if (!v) return true; try { var o = JSON.parse(v); return o !== null && typeof o === "object" && !Array.isArray(o) && Object.keys(o).every(function (k) { return typeof o[k] === "string"; }); } catch (e) { return false; }' });
  return f;
}

function dl(rows) {
  return ['<dl class="message-properties">', ...rows.map(([n, t, d]) => `  <dt>${esc(n)} <span class="property-type">${esc(t)}</span></dt>\n  <dd>${esc(d)}</dd>`), "</dl>"].join("\n");
}

/** A pool function's source and target states, from POOL_FUNCTIONS (via the table). */
function statesHtml(fn, lang) {
  if (!fn.operation) return "";
  const from = fn.source.join(lang === "de" ? " oder " : " or ");
  if (lang === "de") return `\n<p>Seriennummern: von <b>${esc(from)}</b> nach <b>${esc(fn.target)}</b>${fn.operation === "push" ? " (Nummern, die der Pool nicht kennt, werden zuerst angelegt)" : ""}.</p>`;
  return `\n<p>Serial numbers: from <b>${esc(from)}</b> to <b>${esc(fn.target)}</b>${fn.operation === "push" ? " (numbers the pool does not know are added first)" : ""}.</p>`;
}

function requestHtml(fn, lang) {
  if (fn.shape !== "request") return "";
  if (lang === "de") return `\n<p>Hat der Pool weniger freie Nummern als verlangt, sendet der Node die erhaltenen mit
<code>payload.returnStatus</code> <code>InsufficientSerialNumbers</code> und gelbem Status. Erhält er gar keine,
wird nichts gesendet: der Node meldet einem <b>Catch</b>-Node einen Fehler mit <code>msg.error.code</code>
<code>InsufficientSerialNumbers</code>, der Pool und verlangte Anzahl nennt.</p>`;
  return `\n<p>When the pool holds fewer free numbers than asked for, the node sends the ones it got, with
<code>payload.returnStatus</code> <code>InsufficientSerialNumbers</code> and a yellow status. When it gets none at all,
nothing is sent: the node reports an error to a <b>Catch</b> node with <code>msg.error.code</code>
<code>InsufficientSerialNumbers</code> and a message naming the pool and the count asked for.</p>`;
}

function texts(fn, lang) {
  return lang === "en" ? { summary: fn.summary, effect: fn.effect } : { summary: DE[fn.type][0], effect: DE[fn.type][1] };
}

function helpHtml(fn, lang) {
  const W = WORDS[lang];
  const t = texts(fn, lang);
  const props = fields(fn).map((f) => [f.id === "snCollectionId" && fn.shape === "request" ? "snCollectionId" : f.id, f.typed === "num" ? "number | msg | flow | global | env" : f.typed ? `${f.typed === "json" ? "JSON" : "string"} | msg | flow | global | env` : "select", W.props[f.id === "snCollectionId" && fn.shape === "request" ? "snCollectionIdNew" : f.id]]);
  const outputs = [["payload.returnStatus", "string", W.outputs.returnStatus], ...W.outputs[fn.shape]];
  return `<script type="text/html" data-help-name="${fn.type}">
<p>${esc(t.summary)} ${W.method(fn.method, fn.manager)}</p>
<h3>${W.h.properties}</h3>
${dl([["pool", "pss-pool", W.props.pool], ...props])}
<h3>${W.h.inputs}</h3>
${dl(W.inputs[fn.shape])}
<h3>${W.h.outputs}</h3>
${dl(outputs)}
<h3>${W.h.details}</h3>
<p>${esc(t.effect)}</p>${statesHtml(fn, lang)}${requestHtml(fn, lang)}
<p>${W.transaction}</p>
<p>${esc(W.statusHelp)}</p>
<h3>${W.h.example}</h3>
<pre>msg.payload = ${esc(JSON.stringify(EXAMPLES[fn.shape], null, 2))}</pre>
</script>
`;
}

function catalog(fn, lang) {
  const W = WORDS[lang];
  const fs_ = fields(fn);
  const placeholder = {};
  for (const f of fs_) if (f.ph) placeholder[f.id] = W.placeholder[f.ph];
  return {
    [fn.type]: {
      paletteLabel: PALETTE[fn.type][lang === "en" ? 0 : 1],
      summary: texts(fn, lang).summary,
      label: W.label,
      placeholder,
      snFormat: W.snFormat,
      tip: W.tip,
      status: W.status,
      inputLabel: W.inputLabel[fn.shape],
      outputLabel: `${fn.method} ${W.output}`,
    },
  };
}

function editorHtml(fn) {
  const fs_ = fields(fn);
  const k = (key) => `${fn.type}.${key}`;
  const defaults = [
    `      name: { value: "" }`,
    `      pool: { value: "", type: "pss-pool", required: true }`,
  ];
  for (const f of fs_) {
    if (f.select) {
      defaults.push(`      ${f.id}: { value: ${JSON.stringify(f.def)}, validate: function (v) { if (v === undefined) return true; /* a property older flows do not have: the runtime default applies */ return ${JSON.stringify(f.select)}.indexOf(v) >= 0; } }`);
      continue;
    }
    defaults.push(`      ${f.id}: { value: ${JSON.stringify(f.def)}, validate: function (v) { if (v === undefined) return true; /* a property older flows do not have: the runtime default applies */ var t = typeOf(this, "${f.id}", "${f.typed}"); ${f.check.startsWith("if") ? f.check : `return ${f.check};`} } }`);
    defaults.push(`      ${f.id}Type: { value: "${f.typed}", validate: function (v) { if (v === undefined) return true; /* a property older flows do not have: the runtime default applies */ return !v || ["${f.typed}", ${DYN}].indexOf(v) >= 0; } }`);
  }
  const rows = fs_.map((f) => {
    const label = `<label for="node-input-${f.id}"><span data-i18n="${k(`label.${f.id}`)}"></span></label>`;
    if (f.select) {
      return `  <div class="form-row">
    ${label}
    <select id="node-input-${f.id}" style="width:70%">
${f.select.map((v) => `      <option value="${v}" data-i18n="${k(`snFormat.${v}`)}">${v}</option>`).join("\n")}
    </select>
  </div>`;
    }
    return `  <div class="form-row">
    ${label}
    <input type="text" id="node-input-${f.id}" style="width:70%"${f.ph ? ` data-i18n="[placeholder]${k(`placeholder.${f.id}`)}"` : ""}>
    <input type="hidden" id="node-input-${f.id}Type">
  </div>`;
  }).join("\n");
  const typed = fs_.filter((f) => f.typed).map((f) => `      $("#node-input-${f.id}").typedInput({ default: "${f.typed}", types: ["${f.typed}", ${DYN}], typeField: "#node-input-${f.id}Type" });`).join("\n");
  const fam = family(fn);
  return `<!-- generated by scripts/build-assets.js from nodes/common/functions.ts and scripts/function-texts.js: edit those, not this file -->
<script type="text/javascript">
  (function () {
    // the typedInput's type while the dialog is open, else the saved one (validators run in both places)
    function typeOf(node, id, fallback) {
      var field = $("#node-input-" + id + "Type");
      return (field.length && field.val()) || node[id + "Type"] || fallback;
    }
    RED.nodes.registerType("${fn.type}", {
      category: "serialization",
      color: "${fam.color}",
      defaults: {
${defaults.map((d) => "  " + d).join(",\n")}
      },
      inputs: 1,
      outputs: 1,
      icon: "${fam.icon}",
      paletteLabel: function () {
        return this._("${k("paletteLabel")}");
      },
      inputLabels: function () {
        return this._("${k("inputLabel")}");
      },
      outputLabels: function () {
        return this._("${k("outputLabel")}");
      },
      label: function () {
        return this.name || "${fn.method}";
      },
      labelStyle: function () {
        return this.name ? "node_label_italic" : "";
      },
      oneditprepare: function () {
${typed.split("\n").map((l) => "  " + l).join("\n")}
      }
    });
  })();
</script>

<script type="text/html" data-template-name="${fn.type}">
  <div class="form-row">
    <label for="node-input-pool"><i class="fa fa-database"></i> <span data-i18n="${k("label.pool")}"></span></label>
    <input type="text" id="node-input-pool">
  </div>
${rows}
  <div class="form-row">
    <label for="node-input-name"><i class="fa fa-tag"></i> <span data-i18n="${k("label.name")}"></span></label>
    <input type="text" id="node-input-name" placeholder="${fn.method}">
  </div>
  <div class="form-tips"><span data-i18n="${k("summary")}"></span> <span data-i18n="${k("tip")}"></span></div>
</script>
`;
}

for (const fn of PSS_FUNCTIONS) {
  if (!PALETTE[fn.type] || !DE[fn.type]) throw new Error(`scripts/function-texts.js has no words for ${fn.type}: add its row`);
  const out = path.join(dist, fn.type);
  write(path.join(out, `${fn.type}.js`), `"use strict";\n// generated by scripts/build-assets.js from nodes/common/functions.ts\nmodule.exports = require("../common/pss-function").moduleFor(${JSON.stringify(fn.type)});\n`);
  write(path.join(out, `${fn.type}.html`), editorHtml(fn));
  for (const [dir, lang] of Object.entries(LANGS)) {
    write(path.join(out, "locales", dir, `${fn.type}.html`), helpHtml(fn, lang));
    write(path.join(out, "locales", dir, `${fn.type}.json`), JSON.stringify(catalog(fn, lang), null, 2) + "\n");
  }
}

// 3. icons next to every node's .js
const iconSrc = path.join(root, "icons");
for (const e of fs.readdirSync(dist, { withFileTypes: true })) {
  if (e.isDirectory() && e.name.startsWith("pss-")) copyDir(iconSrc, path.join(dist, e.name, "icons"));
}
