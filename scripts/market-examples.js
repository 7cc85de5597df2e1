#!/usr/bin/env node
/* Writes the per-market example flows (examples/<market>.json) from one description per market, so that the
   line they share (PLC -> number -> label -> printer -> camera -> commissioning -> gate) is the same in every one.
   Run `node scripts/market-examples.js` after changing this file; the JSON files are what ships. */
"use strict";
const fs = require("fs");
const path = require("path");

function checkDigit(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) sum += Number(digits[digits.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
  return String((10 - (sum % 10)) % 10);
}
const withCheck = (d) => d + checkDigit(d);

const LOT = "B2026-07";
const EXPIRY = "281130";
const UNITS = 30;

/* ---- function node bodies (they run in Node-RED; no require, flow context per tab) ---- */

const VERIFY = `// one decision per unit: a double read of a unit already decided is set aside
const unit = msg.unit && msg.unit.id;
if (unit && context.get('last') === unit) return [null, null, msg];
context.set('last', unit);
const p = msg.payload;
if (p.pass) {
  msg.payload = { event: 'commissioning', serialNumbers: [p.expected || p.serialNumber] };
  return [msg, null, null];
}
msg.reason = p.match === false ? 'wrong code read' : 'grade ' + p.grade;
msg.payload = { serialNumbers: [p.expected], eventContext: { reason: msg.reason } };
return [null, msg, null];`;

const GATE = `// the unit passes the reject gate; its number is remembered (and scanned into the aggregator when the line aggregates)
const sns = msg.payload.serialNumbers;
const done = flow.get('commissioned') || [];
done.push(...sns);
flow.set('commissioned', done);
return [{ topic: 'pass', payload: { command: 'pass' }, unit: msg.unit }, { payload: sns[0], unit: msg.unit }];`;

const REJECT = `const why = msg.reason || (msg.payload && msg.payload.returnStatus === 'NoError' ? 'label scrapped or number invalidated' : 'rejected');
return { topic: 'reject', payload: { command: 'reject', reason: why }, unit: msg.unit };`;

const REMEMBER = (top) => `// every closed parent and its direct children, for the shipment and the reports
const p = msg.payload;
const el = p.aggregationElement[0];
const tree = flow.get('tree') || {};
tree[el.parent] = { level: p.level, children: el.children };
flow.set('tree', tree);
if (p.level === '${top}') {
  const tops = flow.get('tops') || [];
  tops.push(el.parent);
  flow.set('tops', tops);
}
return msg;`;

const SHIP_TOPS = `// ship every closed top-level parent not shipped yet (its content goes with it)
const tops = flow.get('tops') || [];
if (!tops.length) { node.warn('nothing packed to ship yet: run units and close the open parents first'); return null; }
flow.set('tops', []);
const shipped = flow.get('shipped') || [];
flow.set('shipped', shipped.concat(tops));
return { payload: { serialNumbers: tops } };`;

const SHIP_UNITS = `// ship (release) every commissioned pack not shipped or pulled yet
const sns = flow.get('commissioned') || [];
if (!sns.length) { node.warn('nothing commissioned to ship yet: run units first'); return null; }
flow.set('commissioned', []);
return { payload: { serialNumbers: sns } };`;

const SSCC_RANGE = (gcp, n) => `// the next ${n} SSCCs of company prefix ${gcp}: the serial references continue after every SSCC the pool holds,
// so a number is never made twice (extension digit 0, serial reference ${9 - (gcp.length - 7)} digits, check digit)
const st = msg.payload.status;
const held = Object.values(st.counts).reduce((a, b) => a + b, 0);
const gcp = '${gcp}';
const refDigits = 16 - gcp.length;
const cd = (d) => { let s = 0; for (let i = 0; i < d.length; i++) s += Number(d[d.length - 1 - i]) * (i % 2 ? 1 : 3); return String((10 - s % 10) % 10); };
const lines = [];
for (let i = 1; i <= ${n}; i++) {
  const body = '0' + gcp + String(held + i).padStart(refDigits, '0');
  lines.push(body + cd(body));
}
return { payload: { action: 'import', data: lines.join('\\n') } };`;

const RU_ORDER = (gtin, n) => `// stands in for the codes CRPT's order management station (OMS) returns for an order: one code per line,
// (01) GTIN (21) 13-character serial (91) 4-character key (92) 44-character crypto code. A real line imports
// the file the OMS gives (msg.payload.data = its text); these codes are made up and no authority knows them.
const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const C = A + '+/=';
const pick = (set, n) => { let s = ''; for (let i = 0; i < n; i++) s += set[Math.floor(Math.random() * set.length)]; return s; };
const lines = ['# demo order ' + new Date().toISOString() + ', GTIN ${gtin}'];
for (let i = 0; i < ${n}; i++) lines.push('(01)${gtin}(21)' + pick(A, 13) + '(91)' + pick(A, 4) + '(92)' + pick(C, 44));
return { payload: { action: 'import', data: lines.join('\\n') } };`;

const CN_CODES = (drugCode, n, what) => `// stands in for the file of 20-digit traceability codes a code-issuing organisation hands out for ${what}:
// 7-digit drug identification code ${drugCode} + 9-digit serial + 4 check digits (the issuer's check algorithm is
// not public: these are made up and checked for their structure only).
const lines = [];
const start = Math.floor(Math.random() * 1e8) * 10;
for (let i = 0; i < ${n}; i++) {
  const serial = String(start + i).padStart(9, '0');
  lines.push('${drugCode}' + serial + String(Math.floor(Math.random() * 1e4)).padStart(4, '0'));
}
return { payload: { action: 'import', data: lines.join('\\n') } };`;

const CASE_OR_PALLET_LABEL = (level) => `// the aggregator asks for each closed parent's label. A ${level} has a serialized case GTIN (US DSCSA: a homogeneous
// case carries a product identifier): its label carries (01) case GTIN, (21) serial, (10) lot and (17) expiry, the lot
// and expiry of its contents as the aggregator gives them. A pallet keeps its SSCC label.
const p = msg.payload;
if (p.level === '${level}') {
  msg.payload = { serialNumbers: [p.serialNumber], lot: p.lot, expiry: p.expiry };
  return [msg, null];
}
msg.payload = { serialNumbers: [p.serialNumber] };
return [null, msg];`;

/* ---- the flow builder ---- */

const { compact } = require("./flow-layout");

function build(m) {
  const P = m.prefix;
  const id = (s) => `${P}-${s}`;
  const nodes = [];
  let y = 40;
  const add = (n) => {
    if (n.z) n._row = y;
    nodes.push(n);
    return n;
  };
  const nextRow = (dy = 60) => (y += dy);
  const tab = add({ id: id("tab"), type: "tab", label: m.tab, disabled: false, info: m.info });
  const z = tab.id;
  add({ id: id("comment"), type: "comment", z, name: m.commentTitle, info: m.comment, x: 0, y, wires: [] });

  // pools: one file per example, so every example's numbers, hierarchy and audit log stay apart in one user dir
  const dbFile = `serialflow/${m.db}.db`;
  const pool = (pid, poolId, sidClass, criteria, extra = {}) =>
    add({ id: pid, type: "pss-pool", name: extra.name || poolId, mode: "local", dbFile, poolId, sidClass, criteria, guardPolicy: "strict", lowThreshold: extra.low ?? 50, maxRequest: 10000 });
  pool(id("pool"), m.poolId, m.sidClass, m.gtin ? [{ key: "GTIN", value: m.gtin }] : [], { name: m.poolName });
  for (const extraPool of m.extraPools || []) pool(extraPool.id, extraPool.poolId, extraPool.sidClass, extraPool.criteria || [], { name: extraPool.name, low: 0 });

  const inject = (n, name, payload, payloadType, wires) =>
    add({ id: id(`i-${n}`), type: "inject", z, name, props: [{ p: "payload" }], repeat: "", crontab: "", once: false, onceDelay: 0.1, topic: "", payload, payloadType, x: 100, y, wires: [wires] });
  const fn = (fid, name, func, outputs, x, wires, fy = y) =>
    add({ id: fid, type: "function", z, name, func, outputs, timeout: 0, noerr: 0, initialize: "", finalize: "", libs: [], x, y: fy, wires });
  // a debug node that would flood the sidebar (one message per unit) shows its value in its status only
  const debug = (did, name, complete, x, statusVal = "", fy = y, sidebar = true) =>
    add({ id: did, type: "debug", z, name, active: true, tosidebar: sidebar, console: false, tostatus: !!statusVal, complete, targetType: "msg", statusVal, statusType: "msg", x, y: fy, wires: [] });
  const quiet = (did, name, complete, x, statusVal, fy = y) => debug(did, name, complete, x, statusVal, fy, false);
  const admin = (aid, name, poolRef, action, x, wires, fy = y, count = m.generate || 100) =>
    add({ id: aid, type: "pss-pool-admin", z, name, pool: poolRef, action, count, x, y: fy, wires });
  const pss = (type, pid, name, poolRef, x, wires, context = "", fy = y) => {
    const n = { id: pid, type, z, name, pool: poolRef, snFormat: "SERIALONLY", x, y: fy, wires };
    if (type === "pss-sn-request-allocated") Object.assign(n, { count: 1, snCollectionId: "" });
    else n.context = context;
    return add(n);
  };
  // rows are joined by link nodes, not by wires running back across the canvas
  const linkIn = (lid, name, x, wires, fy = y) => add({ id: lid, type: "link in", z, name, links: [], x, y: fy, wires: [wires] });
  const linkOut = (lid, name, target, x, fy = y) => {
    const n = add({ id: lid, type: "link out", z, name, mode: "link", links: [target], x, y: fy, wires: [] });
    const t = nodes.find((k) => k.id === target);
    if (t) t.links.push(lid);
    return n;
  };
  const fileOut = (fid, name, file, x, wires, fy = y) => add({ id: fid, type: "pss-file-out", z, name, file, x, y: fy, wires: [wires] });

  // step 1: numbers into the pool(s); a row of space under the comment (the deploy notification covers the top)
  nextRow(140);
  const step1 = [];
  if (m.provision === "generate") {
    step1.push(id("gen"));
    admin(id("gen"), `generate ${m.generate} (${m.sidClass})`, id("pool"), "generate", 400, [[id("pool-out")], []]);
    for (const extraPool of (m.extraPools || []).filter((e) => e.generate)) {
      const n = typeof extraPool.generate === "number" ? extraPool.generate : m.generate;
      step1.push(extraPool.id + "-gen");
      admin(extraPool.id + "-gen", `generate ${n} (${extraPool.poolId})`, extraPool.id, "generate", extraPool.x ?? 400, [[id("pool-out")], []], y + (extraPool.row ?? 60), n);
    }
  } else {
    step1.push(id("order"));
    fn(id("order"), m.provision === "ru" ? "authority order (demo codes)" : "issuer's unit codes (demo)", m.provision === "ru" ? RU_ORDER(m.gtin, m.generate) : CN_CODES(m.drugCode, m.generate, "packs"), 1, 400, [[id("import")]]);
    admin(id("import"), "import codes", id("pool"), "import", 600, [[id("pool-out")], []]);
  }
  if (m.caseCodes) {
    step1.push(id("case-codes"));
    fn(id("case-codes"), "issuer's case codes (demo)", CN_CODES(m.caseCodes.drugCode, m.caseCodes.n, "cases"), 1, 400, [[id("case-import")]], y + 60);
    admin(id("case-import"), "import case codes", m.caseCodes.pool, "import", 600, [[id("pool-out")], []], y + 60);
  }
  if (m.sscc) {
    step1.push(id("sscc-status"));
    admin(id("sscc-status"), "SSCC pool status", id("sscc-pool"), "status", 400, [[id("sscc-range")], []], y + 60);
    fn(id("sscc-range"), `next ${m.sscc.n} SSCCs`, SSCC_RANGE(m.sscc.gcp, m.sscc.n), 1, 600, [[id("sscc-import")]], y + 60);
    admin(id("sscc-import"), "import SSCCs", id("sscc-pool"), "import", 800, [[id("pool-out")], []], y + 60);
  }
  debug(id("pool-out"), "pool", "payload", 1000, "payload.added");
  inject(1, m.step1Name, "", "date", step1);
  nextRow(m.step1Height || (m.sscc || m.caseCodes || m.extraPools ? 140 : 80));

  // step 2: the line (three rows: number and print; read, decide and commission; the gate back to the PLC)
  inject(2, `2. Run ${UNITS} units`, JSON.stringify({ command: "step", count: UNITS }), "json", [id("plc")]);
  add({ id: id("plc"), type: "pss-sim-plc", z, name: "line PLC", unitsPerMinute: 60, gateDistance: 0, idPrefix: "U", autoStart: false, opcua: false, opcuaPort: 0, x: 400, y, wires: [[id("request")], [id("gate-out")]] });
  linkIn(id("to-plc"), "gate decision", 300, [id("plc")], y + 60);
  quiet(id("gate-out"), "gate", "payload", 400, "payload.decision", y + 60);
  pss("pss-sn-request-allocated", id("request"), "one number per unit", id("pool"), 600, [[id("label")]]);
  add({ id: id("label"), type: "pss-label", z, name: m.labelName || "label (ZPL)", pool: id("pool"), sidClass: "", gtin: m.gtin || "", lot: LOT, expiry: EXPIRY, nhrn: m.nhrn || "", template: "", extraFields: "", symbolSize: "auto", moduleDots: 6, digitalLinkDomain: "", preview: "none", x: 800, y, wires: [[id("printer"), id("label-out")]] });
  quiet(id("label-out"), "ZPL", "payload.zpl", 800, "payload.labels[0].serialNumber", y + 60);
  add({ id: id("printer"), type: "pss-sim-printer", z, name: "label printer", transport: "tcp", port: 0, misprintRate: "0.03", seed: m.seed || "1", sidClass: m.sidClass, gtin: m.gtin || "", lot: LOT, expiry: EXPIRY, x: 1000, y, wires: [[id("encode")], [id("misprint")]] });
  const lotCtx = JSON.stringify({ lot: LOT, expiry: EXPIRY });
  pss("pss-labels-encoding", id("encode"), "printed", id("pool"), 1200, [[id("to-camera")]], lotCtx);
  linkOut(id("to-camera"), "to the camera", id("camera-in"), 1400);
  // a misprinted label exists physically: it is recorded as printed (Encoded), then scrapped (LabelScrapped); invalidating
  // is for numbers never printed (PSS: SNInvalidatingEvent from Unassigned, Unallocated or Allocated only)
  pss("pss-labels-encoding", id("misprint"), "misprint: printed", id("pool"), 1000, [[id("misprint-scrap")]], JSON.stringify({ reason: "misprint" }), y + 60);
  pss("pss-labels-scrapping", id("misprint-scrap"), "misprint: scrapped", id("pool"), 1200, [[id("reject")]], JSON.stringify({ reason: "misprint" }), y + 60);
  nextRow(140);
  linkIn(id("camera-in"), "printed labels", 100, [id("camera")]);
  add({ id: id("camera"), type: "pss-sim-camera", z, name: "vision camera", seed: m.seed || "1", noReadRate: "0.02", doubleReadRate: "0", wrongCodeRate: "0.01", lowGradeRate: "0.01", minGrade: "C", x: 200, y, wires: [[id("verify")], [id("scrap")]] });
  fn(id("verify"), "right code, grade ≥ C?", VERIFY, 3, 400, [[id("guard")], [id("scrap")], [id("double-out")]]);
  debug(id("double-out"), "double read", "payload", 400, "payload.code", y + 70);
  add({ id: id("guard"), type: "pss-state-guard", z, name: "commissionable?", pool: id("pool"), event: "commissioning", x: 600, y, wires: [[id("commission")], [id("guard-out")]] });
  debug(id("guard-out"), "not commissionable", "payload.refused", 600, "", y + 70);
  const commission = pss("pss-sid-commissioning", id("commission"), "commissioned (lot, expiry)", id("pool"), 800, [[id("gate")]], lotCtx);
  // lot and expiry also as the label collection's properties: stored with each pack, so the aggregator knows the lot of
  // what it packs (mixing rule) and gives a serialized homogeneous case the lot and expiry of its contents
  if (m.lotOnLabels) Object.assign(commission, { lot: LOT, lotType: "str", expiry: EXPIRY, expiryType: "str" });
  fn(id("gate"), m.aggregation ? "gate: pass · scan into case" : "gate: pass", GATE, 2, 1000, [[id("pass-out")], m.aggregation ? [id("to-aggregator")] : []]);
  linkOut(id("pass-out"), "pass", id("to-plc"), 1200);
  if (m.aggregation) linkOut(id("to-aggregator"), "scan", id("aggregator-in"), 1200, y + 40);
  pss("pss-labels-scrapping", id("scrap"), "label scrapped", id("pool"), 800, [[id("reject")]], "", y + 70);
  fn(id("reject"), "gate: reject", REJECT, 1, 1000, [[id("reject-out")]], y + 70);
  linkOut(id("reject-out"), "reject", id("to-plc"), 1200, y + 90);
  // the misprint branch of the first row joins the reject gate through the link too
  nextRow(150);

  if (m.aggregation) {
    const top = m.aggregation.levels[m.aggregation.levels.length - 1].name;
    inject(3, m.closeName || "3. Close the open parents", JSON.stringify({ close: "all" }), "json", [id("aggregator")]);
    linkIn(id("aggregator-in"), "scans", 300, [id("aggregator")], y + 50);
    add({ id: id("aggregator"), type: "pss-aggregator", z, name: m.aggregation.name, pool: id("pool"), builderId: "", levels: JSON.stringify(m.aggregation.levels), idleSeconds: 0, idleClose: "", x: 400, y, wires: [[id("remember")], [id("refused-out")], m.parentLabel ? [id("parent-label-req")] : []] });
    fn(id("remember"), "remember parents", REMEMBER(top), 1, 600, [[id("packed-out")]]);
    debug(id("packed-out"), "packed", "payload", 800, "payload.level");
    debug(id("refused-out"), "scan refused", "payload", 600, "payload.code", y + 60);
    const cl = m.caseLabel;
    if (m.parentLabel && cl) {
      // a case with a serialized case GTIN gets a product identifier label, a pallet its SSCC label
      fn(id("parent-label-req"), "case or pallet?", CASE_OR_PALLET_LABEL(cl.level), 2, 800, [[id("case-label")], [id("parent-label")]], y + 60);
      add({ id: id("case-label"), type: "pss-label", z, name: "case label", pool: cl.pool, sidClass: "", gtin: cl.gtin, lot: "", expiry: "", nhrn: "", template: "", extraFields: "", symbolSize: "auto", moduleDots: 6, digitalLinkDomain: "", preview: "none", x: 1000, y: y + 60, wires: [[id("case-label-out")]] });
      quiet(id("case-label-out"), "case ZPL", "payload.zpl", 1200, "payload.labels[0].serialNumber", y + 60);
      add({ id: id("parent-label"), type: "pss-label", z, name: "SSCC label", pool: id("sscc-pool"), sidClass: "", gtin: "", lot: "", expiry: "", nhrn: "", template: "", extraFields: "", symbolSize: "auto", moduleDots: 6, digitalLinkDomain: "", preview: "none", x: 1000, y: y + 120, wires: [[id("parent-label-out")]] });
      quiet(id("parent-label-out"), "SSCC ZPL", "payload.zpl", 1200, "payload.labels[0].serialNumber", y + 120);
    } else if (m.parentLabel) {
      fn(id("parent-label-req"), "parent label request", "msg.payload = { serialNumbers: [msg.payload.serialNumber] };\nreturn msg;", 1, 800, [[id("parent-label")]], y + 60);
      add({ id: id("parent-label"), type: "pss-label", z, name: "SSCC label", pool: id("sscc-pool"), sidClass: "", gtin: "", lot: "", expiry: "", nhrn: "", template: "", extraFields: "", symbolSize: "auto", moduleDots: 6, digitalLinkDomain: "", preview: "none", x: 1000, y: y + 60, wires: [[id("parent-label-out")]] });
      quiet(id("parent-label-out"), "SSCC ZPL", "payload.zpl", 1200, "payload.labels[0].serialNumber", y + 60);
    }
    nextRow(cl ? 180 : 120);
  }
  for (const step of m.steps) step({ id, z, y, nextRow, inject, fn, debug, quiet, admin, pss, add, fileOut, linkOut, get y() { return y; } });
  nextRow(80);
  add({ id: id("catch"), type: "catch", z, name: "refusals", scope: null, uncaught: false, x: 100, y, wires: [[id("errors")]] });
  debug(id("errors"), "refused", "error", 400, "error.code");
  compact(nodes);
  return nodes;
}

/* ---- per-market steps ---- */

const epcisNode = (c, m, nid, wiresTo, extra = {}) =>
  c.add({
    id: nid, type: "pss-epcis", z: c.z, name: extra.name || `EPCIS 2.0 (${m.market})`, pool: c.id("pool"), source: "audit", identifiers: "epc", companyPrefixLength: 7,
    gtin: m.gtin, digitalLinkDomain: "", readPoint: m.gln + ".1", bizLocation: m.gln, includeInternal: false, format: "jsonld", market: m.market,
    outFile: extra.outFile || `serialflow/${m.db}/epcis-{seq}.jsonld`, flushAfter: 0, emitEmpty: false, sender: extra.sender || "", receiver: extra.receiver || "",
    ...(extra.format ? { format: extra.format } : {}), ...(extra.scope ? { scope: extra.scope } : {}), ...(extra.transactionStatement ? { transactionStatement: true } : {}), x: extra.x || 800, y: extra.y ?? c.y, wires: [wiresTo],
  });

function shipAndEpcis(m, n, label) {
  return (c) => {
    c.inject(n, label, "", "date", [c.id("ship-pick")]);
    c.fn(c.id("ship-pick"), "closed pallets", SHIP_TOPS, 1, 400, [[c.id("ship")]]);
    c.pss("pss-sid-shipping", c.id("ship"), "shipped", c.id("pool"), 600, [[c.id("epcis")]]);
    epcisNode(c, m, c.id("epcis"), [c.id("out")]);
    c.debug(c.id("out"), "EPCIS file", "payload.file", 1000, "payload.events");
    c.nextRow();
  };
}

const GCP = "0950600";
const gtinOf = (gcp, item) => withCheck("0" + gcp + item);
const glnOf = (gcp, loc) => withCheck(gcp + loc);
const CASE_PALLET = (ssccPool, caseCap = 10, palletCap = 4) => [
  { name: "case", capacity: caseCap, parentPool: ssccPool, parentKind: "sscc", mixing: "oneGtinOneLot" },
  { name: "pallet", capacity: palletCap, parentPool: ssccPool, parentKind: "sscc", mixing: "oneGtin" },
];
const ssccPool = (p, poolId) => ({ id: `${p}-sscc-pool`, poolId, sidClass: "GS1-SSCC", name: `${poolId} (SSCC)` });

const REAL_LINE = "For a real line: replace the sim printer by your printer (send the ZPL of the label node to its port 9100 with a tcp request node), the sim camera by your vision system's results and the sim PLC by your PLC and reject gate (OPC UA or MQTT); set your GTIN, lot and expiry on the label and commissioning nodes, your GS1 Company Prefix on the SSCC range and your GLNs on the EPCIS node. Every state change is audited in the example's own pool file (serialflow/<name>.db in the user directory); the Serialization tab of the sidebar shows the pools.";

const markets = [];

/* EU FMD */
{
  const p = "eu";
  const m = {
    file: "EU FMD.json", prefix: p, tab: "EU FMD", db: "eu-fmd", poolId: "EU-FMD-PACKS", poolName: "EU FMD packs", sidClass: "EU-FMD",
    gtin: gtinOf("4012345", "00017"), gln: glnOf("4012345", "00001"), market: "EU", generate: 300, provision: "generate",
    step1Name: "1. Generate 300 randomised serials",
    commentTitle: "EU FMD: randomised serials, EPCIS for the OBP, decommissioning",
    info: "EU Falsified Medicines Directive / Delegated Regulation (EU) 2016/161: no aggregation, verification at dispense.",
    comment: `What this shows (EU FMD, Delegated Regulation (EU) 2016/161):\n\n1. Generate 300 serial numbers with the EU-FMD SID class: randomised, 12 characters from 29 symbols that scanners and keyboards do not confuse (no 0/O, 1/I/L, Y/Z, lower case or special characters, as EMVO advises), so the chance of guessing one stays far under 1 in 10,000.\n2. Run ${UNITS} packs through the simulated line: one number per pack, the GS1 DataMatrix label (GTIN, expiry, lot, serial) made by the label node and printed over a loopback TCP socket, read and graded by the simulated camera, commissioned with lot and expiry; misprinted labels and bad reads are scrapped, the gate rejects those packs.\n3. Before release the EU Hub must hold the pack data (Art. 33). The EU Hub does not take EPCIS: its EMVO gateway has its own XML/web-service format, reached through your on-boarding partner (OBP) or your L4 serialization system. The EPCIS node writes the commissioning events (with lot and expiry) to an EPCIS file for that L4 system or OBP (serialflow/eu-fmd/epcis-for-obp-0001.jsonld), which turns it into the EU Hub upload.\n4. Decommission three packs the way the EU hub states them: one destroyed, one exported (decommissioned, context euState), one pulled as a sample.\n5. Write the state changes for the OBP (the same node exports what happened since its last export, to the next file).\n6. Release the rest (shipping).\n\nNo aggregation: the EU does not require it.\n\n${REAL_LINE}`,
    steps: [
      (c) => {
        c.inject(3, "3. EPCIS file for the OBP (before release)", "", "date", [c.id("epcis")]);
        epcisNode(c, m, c.id("epcis"), [c.id("out")], { outFile: "serialflow/eu-fmd/epcis-for-obp-{seq}.jsonld", x: 400, name: "EPCIS file for the L4 / OBP" });
        c.debug(c.id("out"), "EPCIS file", "payload.file", 600, "payload.events");
        c.nextRow(140);
        c.inject(4, "4. Decommission 3 packs", "", "date", [c.id("decom-pick")]);
        c.fn(c.id("decom-pick"), "destroyed · exported · sample", `// three commissioned packs leave the market in three EU hub states
const sns = flow.get('commissioned') || [];
if (sns.length < 3) { node.warn('run units first: fewer than 3 commissioned packs'); return null; }
const [a, b, s] = sns.splice(0, 3);
flow.set('commissioned', sns);
return [{ payload: { serialNumbers: [a] } }, { payload: { serialNumbers: [b] } }, { payload: { serialNumbers: [s] } }];`, 3, 400, [[c.id("destroy")], [c.id("decom")], [c.id("sample")]]);
        c.pss("pss-sid-destroying", c.id("destroy"), "destroyed", c.id("pool"), 600, [[c.id("decom-out")]], JSON.stringify({ euState: "destroyed" }), c.y - 60);
        c.pss("pss-sid-decommissioning", c.id("decom"), "exported", c.id("pool"), 600, [[c.id("decom-out")]], JSON.stringify({ euState: "exported" }));
        c.pss("pss-sid-inspecting", c.id("sample"), "sample", c.id("pool"), 600, [[c.id("decom-out")]], JSON.stringify({ euState: "sample" }), c.y + 60);
        c.debug(c.id("decom-out"), "decommissioned", "payload", 800, "payload.returnStatus");
        c.nextRow(110);
        c.inject(5, "5. EPCIS file of the state changes", "", "date", [c.id("epcis")]);
        c.nextRow(70);
        c.inject(6, "6. Release the rest", "", "date", [c.id("ship-pick")]);
        c.fn(c.id("ship-pick"), "commissioned packs", SHIP_UNITS, 1, 400, [[c.id("ship")]]);
        c.pss("pss-sid-shipping", c.id("ship"), "released", c.id("pool"), 600, [[c.id("ship-out")]]);
        c.debug(c.id("ship-out"), "released", "payload.serialNumbers", 800, "payload.returnStatus");
      },
    ],
  };
  markets.push(m);
}

/* US DSCSA */
{
  const p = "us";
  // the case: the same NDC item in a homogeneous case of 10, indicator digit 5 (GTIN-14 of its own, GS1 US guideline)
  const caseGtin = withCheck("5031234567890");
  const m = {
    file: "US DSCSA.json", prefix: p, tab: "US DSCSA", db: "us-dscsa", poolId: "US-NDC-PACKS", poolName: "US packs (NDC 12345-678-90)", sidClass: "US-DSCSA",
    gtin: withCheck("0031234567890"), gln: glnOf("0312345", "00001"), market: "US", generate: 300, provision: "generate",
    extraPools: [
      ssccPool(p, "US-SSCC"),
      { id: `${p}-case-pool`, poolId: "US-CASES", sidClass: "US-DSCSA", name: `US cases (case GTIN ${caseGtin})`, criteria: [{ key: "GTIN", value: caseGtin }], generate: 40, row: 0, x: 600 },
    ],
    sscc: { gcp: "0312345", n: 20 }, parentLabel: true, lotOnLabels: true,
    caseLabel: { level: "case", pool: `${p}-case-pool`, gtin: caseGtin },
    step1Name: "1. Generate 300 serials · 20 SSCCs · 40 case serials",
    commentTitle: "US DSCSA: EPCIS with lot and expiry, serialized cases, SSCC pallets",
    info: "US Drug Supply Chain Security Act: product identifier (NDC in a GTIN, serial, lot, expiry) on every package and homogeneous case, EPCIS transaction data.",
    aggregation: {
      name: "cases of 10 · pallets of 4",
      levels: [
        { name: "case", capacity: 10, parentPool: "US-CASES", parentKind: "serial", mixing: "oneGtinOneLot" },
        { name: "pallet", capacity: 4, parentPool: "US-SSCC", parentKind: "sscc", mixing: "oneGtin" },
      ],
    },
    comment: `What this shows (US DSCSA):\n\n1. Generate 300 serial numbers (US-DSCSA class, up to 20 alphanumeric) for an NDC-based GTIN (${withCheck("0031234567890")}), 40 case serials for the case GTIN of the same NDC item (${caseGtin}, indicator digit 5) and the next 20 SSCCs of the company prefix 0312345 ("03" + labeler code) for the pallets.\n2. Run ${UNITS} packs through the simulated line (label with GTIN, lot, expiry and serial; print over loopback TCP; camera; commissioning with lot and expiry, stored with each pack). Every good pack is scanned into the aggregator: cases of 10, pallets of 4 cases. The DSCSA (FD&C Act §582) wants a product identifier on every homogeneous case, not only an SSCC: each case is a serialized case GTIN drawn from the case pool, commissioned with the lot and expiry of the packs in it (one GTIN, one lot per case) and labelled with (01) case GTIN, (21) serial, (10) lot and (17) expiry. Each pallet is an SSCC from the SSCC pool with its SSCC label.\n3. Close the open case and pallet (a partial case at the end of the lot).\n4. Ship the pallets and export the shipment's EPCIS 2.0 document: the history of what was shipped, whenever it happened (commissioning of the packs and cases with ILMD lot and expiry, and of the pallets; one AggregationEvent per case and pallet; the shipping of the pallets), not what else the line did (OPEN-SCS annex A, GS1 US pharma pattern). Every serial gets the GTIN of its own pool: packs urn:epc:id:sgtin:0312345.067890.*, cases urn:epc:id:sgtin:0312345.567890.*, pallets urn:epc:id:sscc:*. Pre-flight refuses a document with an incomplete hierarchy or a missing lot/expiry. The same events also go out as EPCIS 1.2 XML for partners still on 1.2, with the header they expect: the SBDH (sender and receiver GLNs, document id), master data for the pack and the case (set on the shipping message as msg.masterData) and the DSCSA transaction statement.\n\n${REAL_LINE}`,
  };
  // US trading partners still often take EPCIS 1.2 XML with a header: the SBDH (sender, receiver), master data for
  // the product and the DSCSA transaction statement. The shipping message carries the master data (msg.masterData).
  const receiver = glnOf("0399999", "00001");
  const shipTops = SHIP_TOPS.replace("return { payload: { serialNumbers: tops } };", `// master data for the EPCIS 1.2 header: the pack and the homogeneous case of 10 packs (NDC in both GTINs) as EPC classes
const product = { 'urn:epcglobal:cbv:mda#regulatedProductName': 'Examplumab 10 mg tablets', 'urn:epcglobal:cbv:mda#manufacturerOfTradeItemPartyName': 'Example Pharma US',
  'urn:epcglobal:cbv:mda#dosageFormType': 'TABLET', 'urn:epcglobal:cbv:mda#strengthDescription': '10 mg',
  'urn:epcglobal:cbv:mda#additionalTradeItemIdentification': '12345-678-90', 'urn:epcglobal:cbv:mda#additionalTradeItemIdentificationTypeCode': 'FDA_NDC_11' };
// pack GTIN ${m.gtin}, case GTIN ${caseGtin}
const masterData = [
  { type: 'urn:epcglobal:epcis:vtype:EPCClass', id: 'urn:epc:idpat:sgtin:0312345.067890.*', attributes: { ...product, 'urn:epcglobal:cbv:mda#netContentDescription': '30 tablets' } },
  { type: 'urn:epcglobal:epcis:vtype:EPCClass', id: 'urn:epc:idpat:sgtin:0312345.567890.*', attributes: { ...product, 'urn:epcglobal:cbv:mda#netContentDescription': '10 packs of 30 tablets' } },
];
return { payload: { serialNumbers: tops }, masterData };`);
  m.steps = [
    (c) => {
      c.inject(4, "4. Ship the pallets · EPCIS 2.0 and 1.2", "", "date", [c.id("ship-pick")]);
      c.fn(c.id("ship-pick"), "closed pallets", shipTops, 1, 400, [[c.id("ship")]]);
      c.pss("pss-sid-shipping", c.id("ship"), "shipped", c.id("pool"), 600, [[c.id("epcis"), c.id("epcis12")]]);
      epcisNode(c, m, c.id("epcis"), [c.id("out")], { name: "EPCIS 2.0 of the shipment", scope: "shipment" });
      c.debug(c.id("out"), "EPCIS file", "payload.file", 1000, "payload.events");
      epcisNode(c, m, c.id("epcis12"), [c.id("out12")], {
        name: "EPCIS 1.2 + SBDH (US partner)", format: "xml12", scope: "shipment", outFile: `serialflow/${m.db}/epcis12-{seq}.xml`, y: c.y + 60,
        sender: m.gln, receiver, transactionStatement: true,
      });
      c.debug(c.id("out12"), "EPCIS 1.2 file", "payload.file", 1000, "payload.events", c.y + 60);
      c.nextRow(60);
    },
  ];
  markets.push(m);
}

/* Russia */
{
  const p = "ru";
  const m = {
    file: "Russia Chestny Znak.json", prefix: p, tab: "Russia Chestny ZNAK", db: "ru-chestny-znak", poolId: "RU-CZ-CODES", poolName: "Chestny ZNAK codes", sidClass: "RU-CHESTNY-ZNAK",
    gtin: gtinOf("4601234", "56789"), gln: glnOf("4601234", "00001"), market: "RU", generate: 200, provision: "ru",
    extraPools: [ssccPool(p, "RU-SSCC")], sscc: { gcp: "4601234", n: 20 },
    step1Name: "1. Import the authority order · 20 SSCCs",
    commentTitle: "Russia Chestny ZNAK: imported codes with crypto tail, mono aggregates, usage report",
    info: "Russia (425-FZ, Decree 1556), operator CRPT: codes with crypto key (91) and crypto code (92) ordered from the OMS.",
    labelName: "label: 01 21 GS 91 GS 92",
    aggregation: { name: "mono cases of 10 (one GTIN + lot)", levels: [{ name: "case", capacity: 10, parentPool: "RU-SSCC", parentKind: "sscc", mixing: "oneGtinOneLot" }] },
    closeName: "3. Close the open case",
    comment: `What this shows (Russia, Chestny ZNAK / MDLP):\n\n1. Import the codes of an authority order: the function node stands in for the file CRPT's OMS returns (one code per line: (01) GTIN, (21) 13-character serial, (91) 4-character key, (92) 44-character crypto code). The pool keeps each code's crypto tail with its serial; the RU class never generates numbers. The same step imports 20 SSCCs of company prefix 4601234 for the cases.\n2. Run ${UNITS} packs: the label node builds each DataMatrix from the stored code, GS (ASCII 29, \\1D in the ZPL) after the (21) and (91) values, (92) last, the crypto tail not in the human-readable text; the simulated printer reads the ZPL back over loopback TCP.\n3. Close the open case. Cases are mono aggregates: one GTIN and one lot per case (the aggregator refuses a mix), each an SSCC, the tertiary-package code Decree 1556 asks for.\n4. Ship the cases.\n5. Usage report: which codes were applied (commissioned) and which were spent on scrapped labels or misprints, with lot and expiry: what the OMS usage report (10319) and the aggregation report (915) are built from. The MDLP XML schemas are not reproduced here.\n\nFor a real line: feed msg.payload.data from the OMS file (file-in node) instead of the demo codes, and send the report to your MDLP connector. ${REAL_LINE}`,
  };
  m.steps = [
    (c) => {
      c.inject(4, "4. Ship the cases", "", "date", [c.id("ship-pick")]);
      c.fn(c.id("ship-pick"), "closed cases", SHIP_TOPS, 1, 400, [[c.id("ship")]]);
      c.pss("pss-sid-shipping", c.id("ship"), "shipped", c.id("pool"), 600, [[c.id("ship-out")]]);
      c.debug(c.id("ship-out"), "shipped", "payload.serialNumbers", 800, "payload.returnStatus");
      c.nextRow(80);
      c.inject(5, "5. Usage report", "", "date", [c.id("usage-status")]);
      c.admin(c.id("usage-status"), "codes status", c.id("pool"), "status", 400, [[c.id("usage")], []]);
      c.fn(c.id("usage"), "usage report", `// the codes applied (commissioned) and spent (scrapped, invalidated) in this order, with lot and expiry:
// the content of the OMS usage report and, with the cases, of the MDLP aggregation report
const st = msg.payload.status;
const tree = flow.get('tree') || {};
const cases = Object.entries(tree).map(([sscc, t]) => ({ sscc, codes: t.children }));
const applied = cases.reduce((a, k) => a.concat(k.codes), []).concat(flow.get('commissioned') || []).filter((v, i, all) => all.indexOf(v) === i);
msg.payload = {
  report: 'usage',
  gtin: '${m.gtin}',
  lot: '${LOT}',
  expiry: '${EXPIRY}',
  applied: applied.length,
  spent: (st.counts.LabelScrapped || 0) + (st.counts.SNInvalid || 0),
  unused: st.available,
  codes: applied,
  aggregates: cases,
};
return msg;`, 1, 600, [[c.id("file")]]);
      c.fileOut(c.id("file"), "usage report file", `serialflow/${m.db}/usage-report-{seq}.json`, 800, [c.id("out")]);
      c.debug(c.id("out"), "usage report", "file", 1000, "payload.applied");
    },
  ];
  markets.push(m);
}

/* China */
{
  const p = "cn";
  const m = {
    file: "China NMPA.json", prefix: p, tab: "China NMPA", db: "cn-nmpa", poolId: "CN-PACKS", poolName: "China pack codes", sidClass: "CN-NMPA",
    gtin: "", drugCode: "8612345", generate: 200, provision: "cn",
    extraPools: [{ id: `${p}-case-pool`, poolId: "CN-CASES", sidClass: "CN-NMPA", name: "China case codes" }],
    caseCodes: { drugCode: "8612346", n: 20, pool: `${p}-case-pool` },
    step1Name: "1. Import 200 pack codes · 20 case codes",
    commentTitle: "China NMPA: imported 20-digit codes, parent/child relations",
    info: "China NMPA drug traceability: 20-digit codes (7 + 9 + 4) from a code-issuing organisation, parent/child relations uploaded.",
    labelName: "label: 20-digit code",
    aggregation: { name: "cases of 10", levels: [{ name: "case", capacity: 10, parentPool: "CN-CASES", parentKind: "serial", mixing: "oneGtinOneLot" }] },
    closeName: "3. Close the open case",
    comment: `What this shows (China NMPA traceability):\n\n1. Import the codes a code-issuing organisation hands out: 20 digits, the 7-digit drug identification code, a 9-digit serial and 4 check digits. Packs and cases have their own drug identification codes (8612345 and 8612346 here), so they sit in two pools of the CN-NMPA class. The function nodes stand in for the issuer's files; the check digits follow the issuer's algorithm, which is not public, so only the structure is checked.\n2. Run ${UNITS} packs: each label carries the 20-digit code (no GS1 AIs), printed over loopback TCP, read by the camera, commissioned with the lot and expiry of the batch.\n3. Close the open case. Each case takes a 20-digit case code from the case pool.\n4. Ship the cases and build the parent/child relation file the traceability platform takes (JSON here; convert to your platform's format).\n\n${REAL_LINE}`,
  };
  m.steps = [
    (c) => {
      c.inject(4, "4. Ship the cases · relation file", "", "date", [c.id("ship-pick")]);
      c.fn(c.id("ship-pick"), "closed cases", SHIP_TOPS, 1, 400, [[c.id("ship")]]);
      c.pss("pss-sid-shipping", c.id("ship"), "shipped", c.id("pool"), 600, [[c.id("relations")]]);
      c.fn(c.id("relations"), "parent/child relations", `// the shipped cases and the pack codes in each: the relation data the traceability platform takes
const tree = flow.get('tree') || {};
const relations = msg.payload.serialNumbers.map((parent) => ({ parent, level: tree[parent] ? tree[parent].level : 'case', children: tree[parent] ? tree[parent].children : [] }));
msg.payload = { drugCode: '${m.drugCode}', lot: '${LOT}', expiry: '${EXPIRY}', relations };
return msg;`, 1, 800, [[c.id("file")]]);
      c.fileOut(c.id("file"), "relation file", `serialflow/${m.db}/relations-{seq}.json`, 1000, [c.id("out")]);
      c.debug(c.id("out"), "relation file", "file", 1200, "payload.relations.length");
    },
  ];
  markets.push(m);
}

/* UAE Tatmeen and Saudi RSD: mandatory aggregation, EPCIS */
for (const [p, file, tab, db, poolId, sidClass, gcp, market, title, who, sink] of [
  ["ae", "UAE Tatmeen.json", "UAE Tatmeen", "uae-tatmeen", "AE-PACKS", "AE-TATMEEN", "6291234", "AE", "UAE Tatmeen: mandatory aggregation, EPCIS events", "Tatmeen (MoHAP, Ministerial Decree 73/2021) takes EPCIS events (commissioning, packing, shipping) through its API; commissioning before customs clearance.",
    "What the file is for: Tatmeen's interface is its API, which takes EPCIS events in the formats of Tatmeen's technical guides, with the product master data (GTIN, packing hierarchy) kept in GS1 UAE BrandSync. The file holds those events; a Tatmeen connector (your L4 system or a service provider, onboarded with Tatmeen) sends them. This example does not call the API."],
  ["sa", "Saudi RSD.json", "Saudi RSD", "saudi-rsd", "SA-PACKS", "SA-RSD", "6281234", "SA", "Saudi RSD: mandatory aggregation, data for RSD notifications", "SFDA RSD / DTTS: serialized packs, cases and pallets aggregated (SSCC), every site registered with a GLN; manufacturers notify commissioning and dispatch.",
    "What the file is for: RSD takes notifications through SFDA's web services and portal (the DTTS Integration Guide, whose message format is not public); it does not take this EPCIS file. The file is the data your RSD connector builds the package upload, commissioning and dispatch notifications from. This example does not call RSD."],
]) {
  const m = {
    file, prefix: p, tab, db, poolId, poolName: `${tab} packs`, sidClass,
    gtin: gtinOf(gcp, "00019"), gln: glnOf(gcp, "00001"), market, generate: 300, provision: "generate",
    extraPools: [ssccPool(p, `${market}-SSCC`)], sscc: { gcp, n: 40 },
    step1Name: "1. Generate 300 serials · 40 SSCCs",
    commentTitle: title, info: who,
    aggregation: { name: "cases of 10 · pallets of 4", levels: CASE_PALLET(`${market}-SSCC`) },
    comment: `What this shows (${tab}):\n\n${who}\n\n1. Generate 300 randomised serial numbers (${sidClass} class, up to 20 alphanumeric, GTIN first in the code) and the next 40 SSCCs of company prefix ${gcp}.\n2. Run ${UNITS} packs through the simulated line; every good pack is commissioned with lot and expiry and scanned into the aggregator: cases of 10, pallets of 4 cases, each an SSCC. Aggregation is mandatory here: nothing ships outside a complete hierarchy.\n3. Close the open case and pallet.\n4. Ship the pallets and export the EPCIS 2.0 document (commissioning with ILMD, one AggregationEvent per case and pallet, shipping), read point and business location from the site's GLN ${m0gln(gcp)}. Pre-flight refuses an incomplete hierarchy.\n\n${sink}\n\n${REAL_LINE}`,
  };
  m.steps = [shipAndEpcis(m, 4, "4. Ship the pallets · EPCIS")];
  markets.push(m);
}
function m0gln(gcp) {
  return glnOf(gcp, "00001");
}

/* Brazil */
{
  const p = "br";
  const m = {
    file: "Brazil ANVISA.json", prefix: p, tab: "Brazil ANVISA", db: "br-anvisa", poolId: "BR-PRODUCT-A", poolName: "Brazil product A", sidClass: "BR-ANVISA",
    gtin: gtinOf("7891234", "00012"), nhrn: "1234567890123", generate: 200, provision: "generate",
    extraPools: [{ id: `${p}-pool-b`, poolId: "BR-PRODUCT-B", sidClass: "BR-ANVISA", name: "Brazil product B", criteria: [{ key: "GTIN", value: gtinOf("7891234", "00029") }], generate: true }],
    step1Name: "1. Generate 200 serials for each product",
    commentTitle: "Brazil ANVISA: 13-digit numeric serials, unique across the portfolio",
    info: "Brazil ANVISA SNCM (RDC 157/2017, 319/2019): IUM with registration number (713), 13-digit numeric serial unique across all the holder's products. SNCM reporting is suspended since 2022: a dormant profile.",
    comment: `What this shows (Brazil ANVISA, SNCM: dormant since 2022):\n\n1. Generate 200 serial numbers for each of two products (BR-ANVISA class: 13 random digits). Both pools live in one pool file, whose unique index holds every number once: a serial is unique across the holder's whole portfolio, not per GTIN, as ANVISA requires. Keep every product of the registration holder in one file.\n2. Run ${UNITS} packs of product A: the label carries GTIN, the ANVISA registration number (713), serial, expiry and lot; printed over loopback TCP, read by the camera, commissioned with lot and expiry.\n3. Ship the commissioned packs.\n\nNo reporting target: SNCM is suspended. ${REAL_LINE}`,
    steps: [
      (c) => {
        c.inject(3, "3. Ship the commissioned packs", "", "date", [c.id("ship-pick")]);
        c.fn(c.id("ship-pick"), "commissioned packs", SHIP_UNITS, 1, 400, [[c.id("ship")]]);
        c.pss("pss-sid-shipping", c.id("ship"), "shipped", c.id("pool"), 600, [[c.id("out")]]);
        c.debug(c.id("out"), "shipped", "payload.serialNumbers", 800, "payload.returnStatus");
      },
    ],
  };
  markets.push(m);
}

/* Egypt */
{
  const p = "eg";
  const m = {
    file: "Egypt EDA.json", prefix: p, tab: "Egypt EDA", db: "egypt-eda", poolId: "EG-PACKS", poolName: "Egypt packs", sidClass: "EG-EDA",
    gtin: gtinOf("6221234", "00015"), gln: glnOf("6221234", "00001"), market: "EG", generate: 300, provision: "generate",
    extraPools: [ssccPool(p, "EG-SSCC")], sscc: { gcp: "6221234", n: 20 },
    step1Name: "1. Generate 300 serials · 20 SSCCs",
    commentTitle: "Egypt EDA: CSV report, SSCC decommissioned on disaggregation",
    info: "Egypt EDA EPTTS (decisions 475/2025, 804/2025): manufacturer-generated serials, aggregation to SSCC, disaggregation decommissions the SSCC, phase 1 reporting by CSV upload.",
    aggregation: { name: "cases of 10", levels: [{ name: "case", capacity: 10, parentPool: "EG-SSCC", parentKind: "sscc", mixing: "oneGtinOneLot" }] },
    closeName: "3. Close the open case",
    comment: `What this shows (Egypt EDA):\n\n1. Generate 300 serial numbers (EG-EDA class; never reused) and the next 20 SSCCs of company prefix 6221234.\n2. Run ${UNITS} packs through the simulated line; good packs are commissioned and packed into cases of 10 (SSCC).\n3. Close the open case.\n4. Rework: disaggregate the first case. EDA requires its SSCC to be decommissioned: the case is unpacked, its SSCC decommissioned (it is never used again) and the packs are packed into a new case with a new SSCC.\n5. Ship the cases and build the CSV report for the EDA portal: one row per pack with its case, plus the decommissioned SSCC. The columns here are illustrative; use EDA's template (the portal rejects the whole file on one bad row).\n\n${REAL_LINE}`,
  };
  m.steps = [
    (c) => {
      c.inject(4, "4. Rework: disaggregate a case", "", "date", [c.id("rework-pick")]);
      c.fn(c.id("rework-pick"), "first closed case", `// take the first closed case out of the shipment and unpack all its packs
const tops = flow.get('tops') || [];
if (!tops.length) { node.warn('no closed case: run units and close the case first'); return null; }
const sscc = tops.shift();
flow.set('tops', tops);
const tree = flow.get('tree') || {};
const children = tree[sscc].children;
delete tree[sscc];
flow.set('tree', tree);
flow.set('repack', children);
flow.set('reworkSscc', sscc);
return { payload: { parent: sscc, children } };`, 1, 400, [[c.id("unpack")]]);
      c.pss("pss-aggregation-unpacking", c.id("unpack"), "unpacked", c.id("pool"), 600, [[c.id("decom-req")]], JSON.stringify({ reason: "rework" }));
      c.fn(c.id("decom-req"), "decommission the SSCC · repack", `// EDA: a disaggregated SSCC is decommissioned; its packs go into a new case
const sscc = flow.get('reworkSscc');
const gone = flow.get('decommissionedSsccs') || [];
gone.push(sscc);
flow.set('decommissionedSsccs', gone);
const packs = flow.get('repack') || [];
flow.set('repack', []);
const scans = packs.map((sn) => ({ payload: sn }));
// a full case (10) closes by itself; a partial one is closed here
if (packs.length % 10) scans.push({ payload: { close: 'case' } });
return [{ payload: { serialNumbers: [sscc] } }, scans];`, 2, 800, [[c.id("decom")], [c.id("repack")]]);
      c.linkOut(c.id("repack"), "repack", c.id("aggregator-in"), 1000, c.y + 60);
      c.pss("pss-sid-decommissioning", c.id("decom"), "SSCC decommissioned", c.id("pool"), 1000, [[c.id("decom-out")]], JSON.stringify({ reason: "disaggregated" }));
      c.debug(c.id("decom-out"), "decommissioned", "payload.serialNumbers", 1200, "payload.returnStatus");
      c.nextRow(100);
      c.inject(5, "5. Ship the cases · CSV report", "", "date", [c.id("ship-pick")]);
      c.fn(c.id("ship-pick"), "closed cases", SHIP_TOPS, 1, 400, [[c.id("ship")]]);
      c.pss("pss-sid-shipping", c.id("ship"), "shipped", c.id("pool"), 600, [[c.id("csv")]]);
      c.fn(c.id("csv"), "CSV report", `// one row per pack in each shipped case, then the SSCCs decommissioned on disaggregation
const tree = flow.get('tree') || {};
const rows = ['RecordType,GTIN,SerialNumber,Batch,Expiry,SSCC'];
for (const sscc of msg.payload.serialNumbers) {
  for (const sn of (tree[sscc] ? tree[sscc].children : [])) rows.push(['PACK', '${m.gtin}', sn, '${LOT}', '${EXPIRY}', sscc].join(','));
}
for (const sscc of flow.get('decommissionedSsccs') || []) rows.push(['SSCC_DECOMMISSIONED', '', '', '', '', sscc].join(','));
msg.payload = rows.join('\\r\\n') + '\\r\\n';
return msg;`, 1, 800, [[c.id("file")]]);
      c.fileOut(c.id("file"), "CSV report file", `serialflow/${m.db}/eda-report-{seq}.csv`, 1000, [c.id("out")]);
      c.debug(c.id("out"), "CSV report", "file", 1200);
    },
  ];
  markets.push(m);
}

/* India export */
{
  const p = "in";
  const m = {
    file: "India export.json", prefix: p, tab: "India export", db: "india-export", poolId: "IN-PACKS", poolName: "India export packs", sidClass: "IN-DGFT",
    gtin: gtinOf("8901234", "00018"), gln: glnOf("8901234", "00001"), market: "IN", generate: 300, provision: "generate",
    extraPools: [ssccPool(p, "IN-SSCC")], sscc: { gcp: "8901234", n: 40 },
    step1Name: "1. Generate 300 serials · 40 SSCCs",
    commentTitle: "India export (DGFT / iVEDA): parent-child upload data",
    info: "India export (DGFT, iVEDA portal): GS1 codes on every level, parent-child relations of secondary and tertiary packs uploaded before export.",
    aggregation: { name: "cases of 10 · pallets of 4", levels: CASE_PALLET("IN-SSCC") },
    comment: `What this shows (India export, DGFT / iVEDA):\n\n1. Generate 300 serial numbers (IN-DGFT class) and the next 40 SSCCs of company prefix 8901234.\n2. Run ${UNITS} packs through the simulated line; good packs are commissioned with lot and expiry and packed: cases of 10, pallets of 4 cases (SSCC tertiary codes).\n3. Close the open case and pallet.\n4. Ship the pallets and build the parent-child upload data: the hierarchy as JSON and as CSV rows (level, parent, child). iVEDA takes its own XML formats: convert from this data.\n\n${REAL_LINE}`,
  };
  m.steps = [
    (c) => {
      c.inject(4, "4. Ship the pallets · parent-child data", "", "date", [c.id("ship-pick")]);
      c.fn(c.id("ship-pick"), "closed pallets", SHIP_TOPS, 1, 400, [[c.id("ship")]]);
      c.pss("pss-sid-shipping", c.id("ship"), "shipped", c.id("pool"), 600, [[c.id("hierarchy")]]);
      c.fn(c.id("hierarchy"), "parent-child data", `// the shipped pallets, their cases and the packs in each: as a tree (JSON) and as rows (CSV)
const tree = flow.get('tree') || {};
const rows = ['Level,Parent,Child'];
const walk = (parent) => {
  const t = tree[parent];
  if (!t) return { code: parent };
  for (const c of t.children) rows.push([t.level, parent, c].join(','));
  return { code: parent, level: t.level, children: t.children.map(walk) };
};
const pallets = msg.payload.serialNumbers.map(walk);
// two files: the tree as JSON and the rows as CSV
return [{ payload: { gtin: '${m.gtin}', lot: '${LOT}', expiry: '${EXPIRY}', pallets } }, { payload: rows.join('\\r\\n') + '\\r\\n' }];`, 2, 800, [[c.id("file")], [c.id("csv-file")]]);
      c.fileOut(c.id("file"), "parent-child JSON", `serialflow/${m.db}/parent-child-{seq}.json`, 1000, [c.id("out")]);
      c.fileOut(c.id("csv-file"), "parent-child CSV", `serialflow/${m.db}/parent-child-{seq}.csv`, 1000, [c.id("out")], c.y + 60);
      c.debug(c.id("out"), "upload files", "file", 1200);
      c.nextRow(60);
    },
  ];
  markets.push(m);
}

// a folder as the first argument: write there instead (the test that compares the committed examples does)
const outDir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(__dirname, "..", "examples");
for (const m of markets) {
  const flow = build(m);
  fs.writeFileSync(path.join(outDir, m.file), JSON.stringify(flow, null, 4) + "\n");
  console.log(`${m.file}: ${flow.length} nodes`);
}
