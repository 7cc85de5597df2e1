/* What ships (package.json "files", plus the package.json, README and LICENSE npm always packs) cites nothing outside
   the repository: a user of the installed package has no ../shared folder, no research notes and no design file of
   ours, so a comment or a help text that sends them there sends them nowhere. Standards are cited by name and section
   (OPC 30260 §6.3, OPEN-SCS PSS, CBV 2.0, Delegated Regulation (EU) 2016/161 Art. 4); our own docs by their path in the
   package (docs/*.md, README.md). Tests may still read reference data from ../shared: they do not ship. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../helpers/paths";

/** What is checked in each file: the reason a match is refused. */
const OUTSIDE: Array<{ re: RegExp; why: string }> = [
  { re: /(?:\.\.[\\/])+shared\b/g, why: "the ../shared folder next to a checkout" },
  { re: /\bshared[\\/](?:reference|DESIGN)/g, why: "the shared reference folder" },
  { re: /\breference[\\/](?:openscs|epcis|gs1|regulations)\b/g, why: "the shared reference folder" },
  { re: /(?<![\w.])\/(?:work|home)\/[\w.-]+/g, why: "an absolute path of a machine" },
];

/** a cited markdown file: a path or a bare name ending in .md */
const MD = /(?<![\w/.-])((?:\.{1,2}\/)*[\w-]+(?:\/[\w.-]+)*\.md)\b/g;

const TEXT = /\.(?:js|ts|html|json|md|svg|txt|css)$/;

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** The files package.json's "files" selects (a folder, a file or a folder/*.ext glob), and those npm always adds. */
export function shippedFiles(root: string): { files: string[]; missing: string[] } {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { files?: string[] };
  const files = new Set<string>();
  const missing: string[] = [];
  for (const entry of pkg.files ?? []) {
    const before = files.size;
    const star = entry.indexOf("*");
    if (star >= 0) {
      const dir = path.join(root, path.dirname(entry));
      const re = new RegExp(`^${path.basename(entry).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`);
      if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) if (re.test(f) && fs.statSync(path.join(dir, f)).isFile()) files.add(path.join(dir, f));
    } else {
      const p = path.join(root, entry);
      if (fs.existsSync(p)) for (const f of fs.statSync(p).isDirectory() ? walk(p) : [p]) files.add(f);
    }
    if (files.size === before) missing.push(entry);
  }
  for (const f of fs.readdirSync(root)) if (/^(?:package\.json|readme(?:\.md)?|licen[cs]e(?:\.md|\.txt)?)$/i.test(f)) files.add(path.join(root, f));
  return { files: [...files].sort(), missing };
}

/** The citations of files outside the repository in one text (URLs are public and left alone). */
export function outsideCitations(text: string, file: string, root: string): string[] {
  const bare = text.replace(/\b(?:https?|opc\.tcp|file):\/\/[^\s"'`)<>\]]+/g, " ");
  const found: string[] = [];
  for (const { re, why } of OUTSIDE) for (const m of bare.matchAll(re)) found.push(`"${m[0]}" (${why})`);
  for (const m of bare.matchAll(MD)) {
    const cited = m[1];
    const candidates = [path.resolve(path.dirname(file), cited), path.resolve(root, cited), path.resolve(root, "docs", path.basename(cited))];
    const inside = candidates.filter((c) => c === root || c.startsWith(root + path.sep));
    if (!inside.some((c) => fs.existsSync(c))) found.push(`"${cited}" (a file that is not in the repository)`);
  }
  return found;
}

describe("shipped files cite nothing outside the repository", () => {
  it("the check finds each kind of outside citation and passes standards and our own docs", () => {
    const text = [
      "Facts from ../shared/reference/regulations.md §1.",
      "the LabelCollection workaround (MODEL.md §8)",
      "See `../shared/DESIGN.md` for the architecture.",
      "names as in notes/store-contract.md",
      "read from /home/operator/shared/reference/epcis",
      "Mapping (regulations.md §3.5)",
      // what may be cited
      "OPC 30260 §6.3.1; OPEN-SCS PSS 1.0; Delegated Regulation (EU) 2016/161 Art. 4(c); docs/opcua.md; README.md",
      "https://github.com/gs1/EPCIS/blob/master/README.md",
    ].join("\n");
    const found = outsideCitations(text, path.join(REPO_ROOT, "nodes", "core", "x.ts"), REPO_ROOT);
    assert.deepEqual(found.sort(), [
      '"../shared" (the ../shared folder next to a checkout)',
      '"../shared" (the ../shared folder next to a checkout)',
      '"../shared/DESIGN.md" (a file that is not in the repository)',
      '"../shared/reference/regulations.md" (a file that is not in the repository)',
      '"/home/operator" (an absolute path of a machine)',
      '"MODEL.md" (a file that is not in the repository)',
      '"notes/store-contract.md" (a file that is not in the repository)',
      '"reference/epcis" (the shared reference folder)',
      '"reference/regulations" (the shared reference folder)',
      '"regulations.md" (a file that is not in the repository)',
      '"shared/DESIGN" (the shared reference folder)',
      '"shared/reference" (the shared reference folder)',
      '"shared/reference" (the shared reference folder)',
    ].sort());
  });

  it("every shipped text file (package.json \"files\", README, LICENSE) and the sources compiled into it", () => {
    const { files, missing } = shippedFiles(REPO_ROOT);
    assert.deepEqual(missing, [], `package.json "files" entries that match nothing (run npm run build first): ${missing.join(", ")}`);
    // the sources of dist/nodes and dist/bin, when this is a checkout: their comments are compiled into what ships
    for (const src of ["nodes", "bin"]) if (fs.existsSync(path.join(REPO_ROOT, src))) files.push(...walk(path.join(REPO_ROOT, src)));
    const texts = files.filter((f) => TEXT.test(f));
    assert.ok(texts.some((f) => f.endsWith(path.join("dist", "nodes", "core", "index.js"))), "dist/nodes/core/index.js is not among the shipped files: the scan is broken");
    assert.ok(texts.some((f) => f.endsWith(path.join("locales", "en-US", "pss-epcis.html"))), "the editor help of pss-epcis is not among the files: the scan is broken");
    const bad: string[] = [];
    for (const f of texts) {
      for (const c of outsideCitations(fs.readFileSync(f, "utf8"), f, REPO_ROOT)) bad.push(`${path.relative(REPO_ROOT, f)}: ${c}`);
    }
    assert.deepEqual(bad, [], `${bad.length} citation(s) of files outside the repository in what ships:\n  ${bad.join("\n  ")}`);
  });
});
