/* The layers of nodes/ (docs/architecture.md): a node folder (nodes/pss-*) imports only its own files, nodes/common
   and nodes/core; nodes/common imports only itself and nodes/core; nodes/core imports only itself. No file under
   nodes/ reaches outside nodes/ (it ships as dist/nodes). Read from the TypeScript sources, where type-only imports
   are still visible; an installed copy without them (CI's second leg) is checked on its compiled .js and .d.ts. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../helpers/paths";

type Layer = { kind: "core" } | { kind: "common" } | { kind: "node"; folder: string } | { kind: "outside"; where: string };

/** The layer of a path relative to the nodes folder (posix separators). */
function layerOf(rel: string): Layer {
  if (rel.startsWith("../") || rel === "..") return { kind: "outside", where: rel };
  const top = rel.split("/")[0];
  if (top === "core") return { kind: "core" };
  if (top === "common") return { kind: "common" };
  if (top.startsWith("pss-") && rel.includes("/")) return { kind: "node", folder: top };
  return { kind: "outside", where: `nodes/${rel}` };
}

const name = (l: Layer): string =>
  l.kind === "node" ? `nodes/${l.folder}` : l.kind === "outside" ? `outside nodes/ (${l.where})` : `nodes/${l.kind}`;

/** Every module a file names: import ... from, export ... from, import "x", import("x") (also in types), require("x"). */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\bfrom\s*["']([^"'\n]+)["']/g,
    /\bimport\s*["']([^"'\n]+)["']/g,
    /\bimport\s*\(\s*["']([^"'\n]+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"'\n]+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

/** The imports that break the layering, for files given by their path relative to the nodes folder. */
export function layeringViolations(files: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [file, text] of files) {
    const from = layerOf(file);
    for (const spec of specifiers(text)) {
      if (!spec.startsWith("./") && !spec.startsWith("../")) continue; // a package (node-opcua, better-sqlite3, ...)
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      const to = layerOf(target);
      let ok: boolean;
      if (to.kind === "outside") ok = false;
      else if (from.kind === "core") ok = to.kind === "core";
      else if (from.kind === "common") ok = to.kind === "core" || to.kind === "common";
      else if (from.kind === "node") ok = to.kind === "core" || to.kind === "common" || (to.kind === "node" && to.folder === from.folder);
      else ok = false;
      if (!ok) bad.push(`${name(from)}: nodes/${file} imports "${spec}" (${name(to)})`);
    }
  }
  return bad;
}

/**
 * The database drivers (issue 17): `pg` (node-postgres) is imported only under nodes/core/store/pg/, better-sqlite3
 * only by the SQLite store. SQLITE_FILES lists the files that import better-sqlite3 today: the store, and the
 * aggregation core (a type-only import, because it runs SQL on the store's handle; moving it behind the engine
 * interface is the contract refactor's work). A new file importing it fails here.
 */
export const SQLITE_FILES = ["core/store/index.ts", "core/aggregation/hierarchy.ts"];
export function driverViolations(files: Map<string, string>): string[] {
  const bad: string[] = [];
  const src = (f: string) => f.replace(/\.d\.ts$|\.js$/, ".ts");
  for (const [file, text] of files) {
    for (const spec of specifiers(text)) {
      if ((spec === "pg" || spec.startsWith("pg/")) && !file.startsWith("core/store/pg/")) bad.push(`nodes/${file} imports "${spec}": only nodes/core/store/pg/ may import pg`);
      if (spec === "better-sqlite3" && !SQLITE_FILES.includes(src(file))) bad.push(`nodes/${file} imports "better-sqlite3": only the SQLite store (${SQLITE_FILES.join(", ")}) may`);
    }
  }
  return bad;
}

/**
 * The OPEN-SCS OPC UA server (nodes/core/opcua/server/, issue 17) sees pools only through the backend contract
 * (OpenScsBackend, StoreLike in nodes/core/opcua/backend.ts): it imports neither the store, the aggregation core nor
 * the EPCIS importer nor a database driver, and names no SQLite error (the backend turns those into StoreError codes).
 */
export function serverViolations(files: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [file, text] of files) {
    if (!file.startsWith("core/opcua/server/")) continue;
    for (const spec of specifiers(text)) {
      if (spec === "better-sqlite3" || spec === "pg" || spec.startsWith("pg/")) bad.push(`nodes/${file} imports "${spec}"`);
      if (!spec.startsWith(".")) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      if (/^core\/(store|aggregation|epcis)(\/|$)/.test(target)) bad.push(`nodes/${file} imports "${spec}" (nodes/${target}): the server reaches pools only through ../backend`);
    }
    if (/SQLITE|sqlite/.test(text)) bad.push(`nodes/${file} names SQLite: storage faults reach the server as StoreError codes`);
  }
  return bad;
}

function walk(dir: string, keep: (f: string) => boolean, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, keep, base, out);
    else if (keep(e.name)) out.set(path.relative(base, p).split(path.sep).join("/"), fs.readFileSync(p, "utf8"));
  }
  return out;
}

/** The files to check: the TypeScript sources when present, else the compiled package (.js and .d.ts). */
function nodeFiles(): { what: string; files: Map<string, string> } {
  const src = path.join(REPO_ROOT, "nodes");
  if (fs.existsSync(path.join(src, "core", "index.ts"))) {
    return { what: "nodes/**/*.ts", files: walk(src, (f) => f.endsWith(".ts")) };
  }
  const dist = path.join(REPO_ROOT, "dist", "nodes");
  assert.ok(fs.existsSync(path.join(dist, "core", "index.js")), `neither nodes/core/index.ts nor dist/nodes/core/index.js under ${REPO_ROOT}: nothing to check`);
  console.log("      (no TypeScript sources here: checking the compiled dist/nodes/**/*.js and *.d.ts)");
  return { what: "dist/nodes/**/*.{js,d.ts}", files: walk(dist, (f) => f.endsWith(".js") || f.endsWith(".d.ts")) };
}

describe("layering of nodes/ (docs/architecture.md)", () => {
  it("the checker refuses each kind of wrong import and accepts the allowed ones", () => {
    const files = new Map<string, string>([
      ["pss-a/pss-a.ts", 'import type { X } from "../pss-b/pss-b";\nimport { y } from "../common/y";\nimport * as z from "../core/z";\nimport { w } from "./w";'],
      ["pss-c/pss-c.ts", 'const g = require("../pss-d/pss-d");\nexport { h } from "../pss-e/h";\ntype T = typeof import("../pss-f/f");'],
      ["common/x.ts", 'import type { P } from "../pss-pool/pss-pool";\nimport { q } from "../core/q";'],
      ["core/store/s.ts", 'import { r } from "../../common/r";\nimport { t } from "../../pss-label/pss-label";\nimport { u } from "../lifecycle";\nimport Database from "better-sqlite3";'],
      ["core/k.ts", 'import { v } from "../../bin/serialflow";'],
    ]);
    assert.deepEqual(layeringViolations(files).sort(), [
      'nodes/common: nodes/common/x.ts imports "../pss-pool/pss-pool" (nodes/pss-pool)',
      'nodes/core: nodes/core/k.ts imports "../../bin/serialflow" (outside nodes/ (../bin/serialflow))',
      'nodes/core: nodes/core/store/s.ts imports "../../common/r" (nodes/common)',
      'nodes/core: nodes/core/store/s.ts imports "../../pss-label/pss-label" (nodes/pss-label)',
      'nodes/pss-a: nodes/pss-a/pss-a.ts imports "../pss-b/pss-b" (nodes/pss-b)',
      'nodes/pss-c: nodes/pss-c/pss-c.ts imports "../pss-d/pss-d" (nodes/pss-d)',
      'nodes/pss-c: nodes/pss-c/pss-c.ts imports "../pss-e/h" (nodes/pss-e)',
      'nodes/pss-c: nodes/pss-c/pss-c.ts imports "../pss-f/f" (nodes/pss-f)',
    ].sort());
  });

  it("a node folder imports only its own files, nodes/common and nodes/core; nodes/common only itself and nodes/core; nodes/core only itself", () => {
    const { what, files } = nodeFiles();
    // the scan sees the tree: every layer is there and the imports between them are found
    const layers = new Set([...files.keys()].map((f) => name(layerOf(f))));
    for (const l of ["nodes/core", "nodes/common", "nodes/pss-pool", "nodes/pss-label"]) assert.ok(layers.has(l), `${what}: no file of ${l} found`);
    const relative = [...files.values()].flatMap((t) => specifiers(t)).filter((s) => s.startsWith("."));
    assert.ok(relative.length > 100, `${what}: only ${relative.length} relative imports found; the scan is broken`);
    const bad = layeringViolations(files);
    assert.deepEqual(bad, [], `${bad.length} import(s) cross the layers (${what}):\n  ${bad.join("\n  ")}`);
  });

  it("the driver check refuses pg outside nodes/core/store/pg and better-sqlite3 outside the SQLite store", () => {
    const files = new Map<string, string>([
      ["core/store/pg/index.ts", 'import { Pool } from "pg";'],
      ["core/store/index.ts", 'import Database from "better-sqlite3";'],
      ["core/store/pg/sqlite.ts", 'import Database from "better-sqlite3";'],
      ["core/store/verify.ts", 'import type { Pool } from "pg";'],
      ["common/stores.ts", 'const D = require("better-sqlite3");'],
      ["pss-pool/pss-pool.ts", 'import pg from "pg";\nimport { x } from "pg-format";'],
    ]);
    assert.deepEqual(driverViolations(files).sort(), [
      'nodes/common/stores.ts imports "better-sqlite3": only the SQLite store (core/store/index.ts, core/aggregation/hierarchy.ts) may',
      'nodes/core/store/pg/sqlite.ts imports "better-sqlite3": only the SQLite store (core/store/index.ts, core/aggregation/hierarchy.ts) may',
      'nodes/core/store/verify.ts imports "pg": only nodes/core/store/pg/ may import pg',
      'nodes/pss-pool/pss-pool.ts imports "pg": only nodes/core/store/pg/ may import pg',
    ].sort());
  });

  it("the OPC UA server sees pools only through the backend contract: no store, aggregation or EPCIS import, no driver, no SQLite error", () => {
    const sample = new Map<string, string>([
      ["core/opcua/server/a.ts", 'import { StoreBackend } from "../backend";\nimport { POOL_FUNCTIONS } from "../../lifecycle";'],
      ["core/opcua/server/b.ts", 'import { SqlitePoolStore } from "../../store";\nimport type { Aggregation } from "../../aggregation/hierarchy";\nimport Database from "better-sqlite3";'],
      ["core/opcua/server/c.ts", 'const busy = /^SQLITE_BUSY/;'],
      ["core/opcua/backend.ts", 'import { SqlitePoolStore } from "../store"; // SQLITE_BUSY'],
    ]);
    assert.deepEqual(serverViolations(sample).sort(), [
      'nodes/core/opcua/server/b.ts imports "../../aggregation/hierarchy" (nodes/core/aggregation/hierarchy): the server reaches pools only through ../backend',
      'nodes/core/opcua/server/b.ts imports "../../store" (nodes/core/store): the server reaches pools only through ../backend',
      'nodes/core/opcua/server/b.ts imports "better-sqlite3"',
      'nodes/core/opcua/server/b.ts names SQLite: storage faults reach the server as StoreError codes',
      'nodes/core/opcua/server/c.ts names SQLite: storage faults reach the server as StoreError codes',
    ].sort());
    const { what, files } = nodeFiles();
    const server = [...files.keys()].filter((f) => f.startsWith("core/opcua/server/"));
    assert.ok(server.length >= 5, `${what}: only ${server.length} files under nodes/core/opcua/server/ found; the scan is broken`);
    const bad = serverViolations(files);
    assert.deepEqual(bad, [], `${bad.length} problem(s) (${what}):\n  ${bad.join("\n  ")}`);
  });

  it("pg is imported only under nodes/core/store/pg, better-sqlite3 only by the SQLite store", () => {
    const { what, files } = nodeFiles();
    const importing = (mod: string) => [...files].filter(([, t]) => specifiers(t).includes(mod)).map(([f]) => f);
    // the scan sees both drivers where they are
    assert.ok(importing("pg").some((f) => f.startsWith("core/store/pg/")), `${what}: no import of pg found under nodes/core/store/pg`);
    assert.ok(importing("better-sqlite3").length > 0, `${what}: no import of better-sqlite3 found`);
    const bad = driverViolations(files);
    assert.deepEqual(bad, [], `${bad.length} driver import(s) out of place (${what}):\n  ${bad.join("\n  ")}`);
  });
});
