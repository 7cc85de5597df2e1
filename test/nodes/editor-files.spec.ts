/* What a person reads in the editor, checked in the built files (dist/nodes): every node type has help in English
   and German in Node-RED's layout (settings, inputs, outputs, details, an example payload), message catalogs that
   hold every key its dialog asks for, in both languages. The browser test (test/browser/dialogs.spec.ts) shows them. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../helpers/paths";

const PKG = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
const TYPES: string[] = Object.keys(PKG["node-red"].nodes);
const DIST = path.join(REPO_ROOT, "dist", "nodes");
const LANGS = ["en-US", "de"] as const;
const HEADINGS = {
  "en-US": { properties: "Properties", inputs: "Inputs", outputs: "Outputs", details: "Details", example: "Example" },
  de: { properties: "Eigenschaften", inputs: "Eingangsdaten", outputs: "Ausgangsdaten", details: "Details", example: "Beispiel" },
};

function editorOf(type: string): { html: string; config: boolean; inputs: number; outputs: number } {
  const html = fs.readFileSync(path.join(DIST, type, `${type}.html`), "utf8");
  const config = /category:\s*"config"/.test(html);
  const num = (k: string) => Number((new RegExp(`\\b${k}:\\s*(\\d+)`).exec(html) ?? [])[1] ?? 0);
  return { html, config, inputs: num("inputs"), outputs: num("outputs") };
}

/** the catalog keys of a nested object, "a.b.c" */
function keys(o: unknown, prefix = ""): string[] {
  if (o === null || typeof o !== "object") return [prefix];
  return Object.entries(o as Record<string, unknown>).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k));
}

function lookup(o: unknown, key: string): unknown {
  return key.split(".").reduce<unknown>((a, k) => (a && typeof a === "object" ? (a as Record<string, unknown>)[k] : undefined), o);
}

describe("editor files: help and message catalogs in English and German", function () {
  before(function () {
    if (!fs.existsSync(DIST)) throw new Error("dist/nodes is missing: run npm run build");
  });

  for (const type of TYPES) {
    describe(type, function () {
      for (const lang of LANGS) {
        it(`has ${lang} help with settings, inputs, outputs, details and an example, in Node-RED's layout`, function () {
          const file = path.join(DIST, type, "locales", lang, `${type}.html`);
          assert.ok(fs.existsSync(file), `${type}: no help in ${lang} (${path.relative(REPO_ROOT, file)})`);
          const help = fs.readFileSync(file, "utf8");
          const ed = editorOf(type);
          const h = HEADINGS[lang];
          assert.match(help, new RegExp(`data-help-name="${type}"`), "the help names its node type");
          assert.match(help, /^<script type="text\/html" data-help-name="[^"]+">\s*<p>/, "the help starts with a summary paragraph");
          const has = (title: string) => new RegExp(`<h3>${title}</h3>\\s*(<p>[\\s\\S]*?</p>\\s*)?(<dl class="message-properties">|<ol class="node-ports">)`).test(help);
          assert.ok(has(h.properties), `${type} ${lang}: <h3>${h.properties}</h3> followed by its settings`);
          if (ed.inputs > 0) assert.ok(has(h.inputs), `${type} ${lang}: <h3>${h.inputs}</h3> with <dl class="message-properties">`);
          if (ed.outputs > 0) assert.ok(has(h.outputs), `${type} ${lang}: <h3>${h.outputs}</h3> with message properties or node ports`);
          assert.match(help, new RegExp(`<h3>${h.details}</h3>`), `${type} ${lang}: <h3>${h.details}</h3>`);
          if (!ed.config) assert.match(help, new RegExp(`<h3>${h.example}</h3>\\s*(<p>[\\s\\S]*?</p>\\s*)?<pre>${ed.inputs > 0 ? "[\\s\\S]*msg\\.(payload|topic)" : ""}`), `${type} ${lang}: <h3>${h.example}</h3> with an example${ed.inputs > 0 ? " message" : ""}`);
          if (lang === "de") assert.doesNotMatch(help, /<h3>(Inputs|Outputs|Properties|Example)<\/h3>/, "German help has German headings");
        });
      }

      it("has message catalogs in English and German with the same keys, holding every key its dialog uses", function () {
        const cats = LANGS.map((lang) => {
          const file = path.join(DIST, type, "locales", lang, `${type}.json`);
          assert.ok(fs.existsSync(file), `${type}: no message catalog in ${lang}`);
          return JSON.parse(fs.readFileSync(file, "utf8"));
        });
        assert.deepEqual(keys(cats[1]).sort(), keys(cats[0]).sort(), `${type}: the German catalog has every key of the English one, and no other`);
        const html = editorOf(type).html;
        const used = [...html.matchAll(/data-i18n="(?:\[[a-z]+\])?([^"]+)"/g), ...html.matchAll(/\b_\("([^"]+)"/g)].map((m) => m[1]).filter((k) => !k.includes(":"));
        for (const [i, cat] of cats.entries()) {
          const missing = used.filter((k) => typeof lookup(cat, k) !== "string");
          assert.deepEqual(missing, [], `${type}: keys its editor uses that the ${LANGS[i]} catalog lacks`);
        }
        assert.equal(typeof lookup(cats[0], `${type}.paletteLabel`), "string", `${type}: a palette label in the catalog`);
      });
    });
  }
});
