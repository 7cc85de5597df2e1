/* The dialogs the way a person fills them in: Node-RED started by `npm start` (scripts/start.js) on an empty flow,
   Debian's Chromium driven by playwright-core. The palette's labels never wrap inside a word; a pool config is
   created from the SID class list; typedInputs are set to msg and to env and the runtime reads them; a refusal
   shows in the debug sidebar in plain words; the editor switched to German shows German labels and help.
   Screenshots go to out/screenshots/ (ignored by git). Chromium as in editor.spec.ts. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import type { Browser, Page } from "playwright-core";
import { tmpDir } from "../helpers/tmp";
import { REPO_ROOT } from "../helpers/paths";
import { CHROMIUM, requireChromium } from "../helpers/browser";
import { startNodeRed, StartedNodeRed } from "../helpers/start";

const SHOTS = path.join(REPO_ROOT, "out", "screenshots");
const COLLECTION = "DLG-ENV-COLLECTION";

// the editor's own globals, as seen from page.evaluate
declare const RED: any;
declare const $: any;

describe("the dialogs in a real browser: palette, typedInputs, pool config, readable errors, German", function () {
  this.timeout(300000);
  let tmp: ReturnType<typeof tmpDir>;
  let nr: StartedNodeRed | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async function () {
    requireChromium(this);
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = tmpDir();
    // an empty flow (start.js copies the demo only when there is none): the dialogs are the subject here
    fs.writeFileSync(path.join(tmp.dir, "flows.json"), "[]");
    nr = await startNodeRed(tmp.dir, { SERIALFLOW_TEST_COLLECTION: COLLECTION });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 }, locale: "en-US" });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
    await openEditor();
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && page) {
      await page.screenshot({ path: path.join(SHOTS, `failed-dialogs-${this.currentTest.title.slice(0, 40).replace(/[^A-Za-z0-9]+/g, "-")}.png`) }).catch(() => undefined);
    }
  });

  after(async function () {
    if (browser) await browser.close();
    if (nr) await nr.stop();
    if (tmp) tmp.cleanup();
  });

  async function openEditor() {
    await page.goto(nr!.base);
    await page.waitForFunction(() => typeof RED !== "undefined" && RED.nodes && RED.nodes.getType("pss-pool") && RED.workspaces.active(), null, { timeout: 90000 });
    await page.waitForSelector(".red-ui-palette-node[data-palette-type='pss-sn-request-allocated']", { timeout: 90000 });
  }

  /** the text of a node type's palette entry */
  const paletteLabel = (type: string) => page.locator(`.red-ui-palette-node[data-palette-type='${type}'] .red-ui-palette-label`).innerText();

  /** palette labels whose lines are not whole words of the label: Node-RED cuts a word wider than its palette node */
  const wordsCut = () =>
    page.evaluate(() => {
      const out: string[] = [];
      document.querySelectorAll(".red-ui-palette-node[data-palette-type^='pss-']").forEach((node) => {
        const label = node.getAttribute("data-palette-label") ?? "";
        const words = new Set(label.split(/\s+/));
        const lines = ((node.querySelector(".red-ui-palette-label") as HTMLElement | null)?.innerText ?? "").split("\n");
        for (const line of lines) {
          for (const w of line.trim().split(/\s+/)) if (w && !words.has(w)) out.push(`${node.getAttribute("data-palette-type")}: "${label}" shows "${lines.join(" / ")}"`);
        }
      });
      return [...new Set(out)];
    }) as Promise<string[]>;

  /** the "Imported" and "Deployed" toasts would cover the dialogs in the pictures */
  const clearNotifications = () => page.evaluate(() => document.querySelectorAll(".red-ui-notification").forEach((e) => ((e as HTMLElement).style.display = "none")));

  /** choose a typedInput's type from its menu and type its value, as a person does */
  async function setTypedInput(id: string, type: string, value: string) {
    const row = page.locator(`.form-row:has(#node-input-${id})`);
    await row.locator("button.red-ui-typedInput-type-select").click();
    await page.locator(`.red-ui-typedInput-options:visible a[value="${type}"]`).click();
    const input = row.locator("input.red-ui-typedInput-input");
    await input.fill(value);
    await input.press("Tab"); // the dialog validates the field when it changes
    assert.equal(await page.evaluate((i) => $(`#node-input-${i}`).typedInput("type"), id), type, `${id}: the typedInput shows ${type}`);
  }

  async function deploy() {
    await page.click("#red-ui-header-button-deploy");
    await page.waitForSelector(".red-ui-notification:has-text('Successfully deployed'), .red-ui-notification:has-text('Erfolgreich')", { timeout: 60000 });
    await page.waitForTimeout(1000);
  }

  it("shows short lowercase palette labels that never wrap inside a word, the method names on the canvas", async function () {
    const expected: Record<string, string> = {
      "pss-sn-request-allocated": "request allocated",
      "pss-sn-return-allocated": "return allocated",
      "pss-sid-commissioning": "commission",
      "pss-sid-shipping": "ship",
      "pss-aggregation-packing": "pack",
      "pss-aggregation-unpacking": "unpack",
      "pss-opcua-server": "OPEN-SCS server",
      "pss-aggregator": "aggregator",
    };
    const problems: string[] = [];
    for (const [type, label] of Object.entries(expected)) {
      const shown = (await paletteLabel(type)).replace(/\u2011/g, "-").replace(/\s+/g, " ").trim();
      if (shown !== label) problems.push(`${type}: palette label "${shown}", expected "${label}"`);
    }
    problems.push(...(await wordsCut()));
    assert.deepEqual(problems, [], "short palette labels, each line made of whole words");
    const category = page.locator("#red-ui-palette-container-serialization");
    await category.scrollIntoViewIfNeeded();
    await category.screenshot({ path: path.join(SHOTS, "palette.png") });
  });

  it("creates a pool config from the SID class list, sets count to msg and the SN collection to env, and the runtime reads both", async function () {
    // a tiny flow: inject (msg.n) → request allocated (no pool yet) → debug of the collection id
    await page.evaluate(() => {
      RED.view.importNodes(
        [
          { id: "dlg_inject", type: "inject", name: "three", props: [{ p: "payload" }, { p: "n", v: "3", vt: "num" }], payload: "{}", payloadType: "json", repeat: "", crontab: "", once: false, onceDelay: 0.1, topic: "", x: 140, y: 80, wires: [["dlg_request"]] },
          { id: "dlg_zero", type: "inject", name: "zero", props: [{ p: "payload" }, { p: "n", v: "0", vt: "num" }], payload: "{}", payloadType: "json", repeat: "", crontab: "", once: false, onceDelay: 0.1, topic: "", x: 140, y: 140, wires: [["dlg_request"]] },
          { id: "dlg_fill", type: "inject", name: "fill", props: [{ p: "payload" }], payload: "", payloadType: "date", repeat: "", crontab: "", once: false, onceDelay: 0.1, topic: "", x: 140, y: 220, wires: [["dlg_admin"]] },
          { id: "dlg_admin", type: "pss-pool-admin", name: "", pool: "", action: "generate", count: 1500, x: 380, y: 220, wires: [[], []] },
          { id: "dlg_request", type: "pss-sn-request-allocated", name: "", pool: "", count: "10", snFormat: "SERIALONLY", x: 380, y: 110, wires: [["dlg_debug"]] },
          { id: "dlg_debug", type: "debug", name: "collection", active: true, tosidebar: true, complete: "payload.snCollection.id", targetType: "msg", x: 620, y: 110, wires: [] },
        ],
        { generateIds: false, addFlow: false, touchImport: true },
      );
    });
    await page.mouse.click(700, 500); // imported nodes follow the mouse until a click places them
    await page.locator('[id="dlg_request"]').first().dblclick({ force: true });
    await page.waitForSelector("#node-input-count", { state: "attached", timeout: 15000 });
    assert.equal(await page.locator("label[for='node-input-count']").innerText(), "Count");
    const snFormats = await page.locator("#node-input-snFormat option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.deepEqual(snFormats, ["SERIALONLY", "LITERAL"], "the SN format offers the formats the pool stores, no more");

    // the + next to the pool list adds a pool
    await page.click("#node-input-btn-pool-add");
    await page.waitForSelector("#node-config-input-sidClass-pick", { state: "visible", timeout: 15000 });
    const classes = await page.locator("#node-config-input-sidClass-pick option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.ok(classes.includes("GS1-SGTIN") && classes.includes("EU-FMD") && classes.includes("RU-CHESTNY-ZNAK"), `the known SID classes are listed: ${classes.join(", ")}`);
    assert.equal(classes[classes.length - 1], "_custom", "the list ends with a custom class");
    await page.selectOption("#node-config-input-sidClass-pick", "EU-FMD");
    assert.equal(await page.locator(".pss-pool-sidclass-custom").isVisible(), false, "the custom class field hides while a known class is chosen");
    await page.selectOption("#node-config-input-sidClass-pick", "_custom");
    assert.equal(await page.locator(".pss-pool-sidclass-custom").isVisible(), true, "choosing custom shows its field");
    await page.selectOption("#node-config-input-sidClass-pick", "EU-FMD");
    // PostgreSQL mode: its URL, schema, password and TLS; no file; the pool's own settings stay; the CA file with TLS only
    await page.selectOption("#node-config-input-mode", "postgres");
    const visible = (sel: string) => page.locator(sel).first().isVisible();
    for (const id of ["pgUrl", "pgSchema", "password", "pgTls", "sidClass-pick", "guardPolicy", "lowThreshold", "poolId"]) {
      assert.equal(await visible(`#node-config-input-${id}`), true, `postgres mode shows ${id}`);
    }
    for (const id of ["dbFile", "endpointUrl", "user", "pgCaFile"]) assert.equal(await visible(`#node-config-input-${id}`), false, `postgres mode hides ${id}`);
    await page.check("#node-config-input-pgTls");
    assert.equal(await visible("#node-config-input-pgCaFile"), true, "TLS shows the CA file");
    await page.fill("#node-config-input-pgUrl", "postgres://serialflow@127.0.0.1:5432/pools");
    await clearNotifications();
    await page.screenshot({ path: path.join(SHOTS, "dialog-pss-pool-postgres.png") });
    await page.uncheck("#node-config-input-pgTls");
    await page.selectOption("#node-config-input-mode", "local");
    assert.equal(await visible("#node-config-input-dbFile"), true, "back in local mode the file shows");
    assert.equal(await visible("#node-config-input-pgUrl"), false, "and the PostgreSQL URL hides");
    await page.fill("#node-config-input-poolId", "DLG1");
    await page.fill("#node-config-input-dbFile", "dialogs.db");
    await page.fill("#node-config-input-lowThreshold", "10");
    await clearNotifications();
    await page.screenshot({ path: path.join(SHOTS, "dialog-pss-pool.png") });
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#node-config-input-sidClass-pick", { state: "detached", timeout: 15000 });
    const poolLabel = await page.locator("#node-input-pool option:checked").innerText();
    assert.equal(poolLabel, "DLG1 · dialogs.db", "the pool list shows the pool id and its file");

    await setTypedInput("count", "msg", "n");
    await setTypedInput("snCollectionId", "env", "SERIALFLOW_TEST_COLLECTION");
    await clearNotifications();
    await page.screenshot({ path: path.join(SHOTS, "dialog-request-allocated.png") });
    await page.click("#node-dialog-ok");
    await page.waitForSelector("#node-input-count", { state: "detached", timeout: 15000 });
    const saved = await page.evaluate(() => {
      const n = RED.nodes.node("dlg_request");
      const pool = RED.nodes.node(n.pool);
      return { count: n.count, countType: n.countType, id: n.snCollectionId, idType: n.snCollectionIdType, sidClass: pool.sidClass, poolId: pool.poolId, valid: n.valid };
    });
    assert.deepEqual(saved, { count: "n", countType: "msg", id: "SERIALFLOW_TEST_COLLECTION", idType: "env", sidClass: "EU-FMD", poolId: "DLG1", valid: true });

    // the admin node takes the new pool from its list; its count shows only for "generate"
    await page.locator('[id="dlg_admin"]').first().dblclick({ force: true });
    await page.waitForSelector("#node-input-action", { state: "visible", timeout: 15000 });
    await page.selectOption("#node-input-pool", { label: "DLG1 · dialogs.db" });
    assert.equal(await page.locator("#node-input-count").isVisible(), true, "generate shows the count");
    await page.selectOption("#node-input-action", "status");
    assert.equal(await page.locator("#node-input-count").isVisible(), false, "status hides the count");
    await page.selectOption("#node-input-action", "generate");
    await page.click("#node-dialog-ok");
    await page.waitForSelector("#node-input-action", { state: "detached", timeout: 15000 });

    await deploy();
    await page.evaluate(() => RED.sidebar.show("debug"));
    await page.locator('[id="dlg_fill"] .red-ui-flow-node-button').first().click({ force: true });
    await page.waitForFunction(() => RED.nodes.node("dlg_admin").status?.fill === "green", null, { timeout: 60000 });
    await page.locator('[id="dlg_inject"] .red-ui-flow-node-button').first().click({ force: true });
    await page.waitForFunction(() => RED.nodes.node("dlg_request").status?.fill === "green", null, { timeout: 60000 });
    const status = await page.evaluate(() => RED.nodes.node("dlg_request").status.text);
    assert.equal(status, "3 · SNRequestAllocated", "msg.n = 3 was read as the count");
    await page.waitForSelector(`#red-ui-sidebar-content .red-ui-debug-msg:has-text("${COLLECTION}")`, { timeout: 30000 });
  });

  it("shows a refusal in the debug sidebar as a sentence in plain words, not as an error object", async function () {
    await page.locator('[id="dlg_zero"] .red-ui-flow-node-button').first().click({ force: true });
    await page.waitForFunction(() => RED.nodes.node("dlg_request").status?.fill === "red", null, { timeout: 60000 });
    const msg = page.locator("#red-ui-sidebar-content .red-ui-debug-msg", { hasText: "SNRequestAllocated refused" }).last();
    await msg.waitFor({ timeout: 30000 });
    const text = await msg.locator(".red-ui-debug-msg-payload").innerText();
    assert.equal(text.trim(), '"SNRequestAllocated refused: count (msg n) is 0, not a whole number ≥ 1"', "the whole sentence, not cut");
    assert.doesNotMatch(text, /^error\b|\{.*name/i, "the sidebar shows the sentence, not a collapsed error object");
    assert.equal(await page.evaluate(() => RED.nodes.node("dlg_request").status.text), "InvalidCount", "the status names the code");
    await page.locator("#red-ui-sidebar").screenshot({ path: path.join(SHOTS, "debug-refusal.png") });
  });

  it("shows the Serialization sidebar with the pool's KPIs first, thousands separators, one line per audit record", async function () {
    const tab = page.locator("#red-ui-sidebar .red-ui-tab", { hasText: "Serialization" });
    const id = ((await tab.getAttribute("id")) ?? "").replace(/^red-ui-tab-/, "");
    await page.evaluate((t) => RED.sidebar.show(t), id);
    const kpis = page.locator(".serialflow-kpis").first();
    await kpis.waitFor({ timeout: 30000 });
    const text = (await kpis.innerText()).replace(/\s+/g, " ");
    assert.match(text, /^1,497 free 10 threshold 0 commissioned 0 released 1,500 total$/, `the KPIs: ${text}`);
    const first = await page.evaluate(() => {
      const box = document.querySelector(".serialflow-kpis")!.parentElement!;
      return Array.from(box.children).findIndex((c) => c.classList.contains("serialflow-kpis"));
    });
    assert.equal(first, 1, "the KPIs come right under the pool's name");
    const rows = page.locator(".serialflow-audit-row");
    assert.ok((await rows.count()) >= 2, "audit rows are shown");
    const heights = await rows.evaluateAll((rs) => rs.map((r) => (r as HTMLElement).getBoundingClientRect().height));
    assert.ok(heights.every((h) => h === heights[0]), `every audit row is one line high: ${heights.join(", ")}`);
    await page.locator("#red-ui-sidebar").screenshot({ path: path.join(SHOTS, "sidebar-kpis.png") });
  });

  it("switched to German, shows German palette labels, dialog labels and help", async function () {
    // the editor's language setting (User Settings → View → Language) is kept in localStorage
    await page.evaluate(() => localStorage.setItem("editor-language", "de"));
    await openEditor();
    assert.equal((await paletteLabel("pss-sid-commissioning")).replace(/\s+/g, " ").trim(), "aktivieren");
    assert.equal((await paletteLabel("pss-sn-request-allocated")).replace(/\s+/g, " ").trim(), "allocated anfordern");
    assert.deepEqual(await wordsCut(), [], "German palette labels are not cut inside a word either");
    await page.locator("#red-ui-palette-container-serialization").scrollIntoViewIfNeeded();
    await page.locator("#red-ui-palette-container-serialization").screenshot({ path: path.join(SHOTS, "palette-de.png") });
    await page.locator('[id="dlg_request"]').first().dblclick({ force: true });
    await page.waitForSelector("#node-input-count", { state: "attached", timeout: 15000 });
    assert.equal(await page.locator("label[for='node-input-count']").innerText(), "Anzahl");
    assert.equal(await page.locator("label[for='node-input-snCollectionId']").innerText(), "SN-Collection");
    assert.equal(await page.evaluate(() => $("#node-input-count").typedInput("type")), "msg", "the saved typedInput type comes back");
    // the help of the node being edited, in the dialog's help panel
    await page.evaluate(() => RED.sidebar.help.show("pss-sn-request-allocated"));
    const help = page.locator(".red-ui-help", { has: page.locator("h3", { hasText: "Eingangsdaten" }) }).last();
    await help.waitFor({ timeout: 15000 });
    const helpText = await help.innerText();
    assert.match(helpText, /Fordert Seriennummern für einen Verpackungsauftrag an/);
    assert.match(helpText, /Eigenschaften[\s\S]*Eingangsdaten[\s\S]*Ausgangsdaten[\s\S]*Details[\s\S]*Beispiel/);
    await page.screenshot({ path: path.join(SHOTS, "dialog-request-allocated-de.png") });
    await page.click("#node-dialog-cancel");
    await page.evaluate(() => localStorage.removeItem("editor-language"));
    assert.deepEqual(consoleErrors, [], "no console error");
  });
});
