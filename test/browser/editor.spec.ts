/* The editor the way a person uses it: Node-RED started by `npm start` (scripts/start.js), Debian's Chromium
   driven by playwright-core. Every node type is in the palette and its edit dialog opens without a console
   error; every example is imported through the Import menu, deployed, and its nodes turn green.
   Screenshots go to out/screenshots/ (ignored by git; CI keeps them as artefacts).
   Chromium: SERIALFLOW_CHROMIUM, else /usr/bin/chromium (Debian's package, which .ci/run installs). Without
   it the suite is skipped with a message, unless SERIALFLOW_REQUIRE_BROWSER=1 (set by .ci/run), then it fails. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import type { Browser, Page } from "playwright-core";
import { tmpDir } from "../helpers/tmp";
import { REPO_ROOT } from "../helpers/paths";
import { CHROMIUM, requireChromium } from "../helpers/browser";
import { startNodeRed, StartedNodeRed } from "../helpers/start";
import { freePort } from "../helpers/net";

const SHOTS = path.join(REPO_ROOT, "out", "screenshots");
const PKG = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
const TYPES: string[] = Object.keys(PKG["node-red"].nodes);
const EXAMPLES = fs.readdirSync(path.join(REPO_ROOT, "examples")).filter((f) => f.endsWith(".json")).sort();

// the editor's own globals, as seen from page.evaluate
declare const RED: any;

describe("the editor in a real browser (playwright-core + Chromium)", function () {
  this.timeout(180000);
  let tmp: ReturnType<typeof tmpDir>;
  let nr: StartedNodeRed | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async function () {
    requireChromium(this);
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = tmpDir();
    nr = await startNodeRed(tmp.dir, { SERIALFLOW_RESET_FLOW: "1" });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
    await page.goto(nr.base);
    await page.waitForFunction(() => typeof RED !== "undefined" && RED.nodes && RED.nodes.getType("pss-pool") && RED.workspaces.active(), null, { timeout: 60000 });
    await page.waitForSelector(".red-ui-palette-node[data-palette-type='pss-sn-request-allocated']", { timeout: 60000 });
  });

  after(async function () {
    if (browser) await browser.close();
    if (nr) await nr.stop();
    if (tmp) tmp.cleanup();
  });

  /** the status of every node on the active tab: id, type, fill */
  const statuses = () =>
    page.evaluate(() => {
      const z = RED.workspaces.active();
      return RED.nodes
        .filterNodes({ z })
        .filter((n: any) => n.status && n.status.fill)
        .map((n: any) => ({ id: n.id, type: n.type, name: n.name || "", fill: n.status.fill, text: n.status.text || "" }));
    }) as Promise<Array<{ id: string; type: string; name: string; fill: string; text: string }>>;

  /** click the button of every inject node on the active tab, top to bottom, as a person starts a flow */
  async function pressInjects() {
    const ids = (await page.evaluate(() =>
      RED.nodes
        .filterNodes({ z: RED.workspaces.active(), type: "inject" })
        .sort((a: any, b: any) => a.y - b.y || a.x - b.x)
        .map((n: any) => n.id),
    )) as string[];
    // a person waits for the deploy notification to go before clicking the buttons under it
    await page.waitForSelector(".red-ui-notification", { state: "detached", timeout: 15000 }).catch(() => undefined);
    for (const id of ids) {
      // the button posts /inject/<id>: that request answered 200 is the proof the click landed; a click that does
      // not land (no request at all) is tried again once, never one that did
      const name = (await page.evaluate((i) => RED.nodes.node(i).name || "", id)) as string;
      let injected = false;
      for (let attempt = 0; attempt < 2 && !injected; attempt++) {
        const answered = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname.endsWith(`/inject/${id}`), { timeout: 5000 });
        const button = page.locator(`[id="${id}"] .red-ui-flow-node-button`).first();
        await button.scrollIntoViewIfNeeded().catch(() => undefined);
        await button.click({ force: true });
        injected = await answered.then((r) => {
          assert.equal(r.status(), 200, `inject "${name}": the runtime answered ${r.status()}`);
          return true;
        }, () => false);
      }
      assert.ok(injected, `clicking the button of inject "${name}" injected a message`);
      await page.waitForTimeout(1500);
    }
    return ids.length;
  }

  /** the whole flow in view for a picture: zoomed out to 0.6 (four clicks on the zoom-out button), scrolled to the
   *  top left corner; the zoom is reset after, so the next example is clicked at 1:1 */
  async function framed(shoot: () => Promise<unknown>) {
    await page.evaluate(() => {
      RED.actions.invoke("core:zoom-reset");
      for (let i = 0; i < 4; i++) RED.actions.invoke("core:zoom-out");
    });
    await page.locator("#red-ui-workspace-chart").evaluate((el) => el.scrollTo(0, 0));
    await page.waitForTimeout(500);
    await shoot();
    await page.evaluate(() => RED.actions.invoke("core:zoom-reset"));
  }

  async function waitForGreen(what: string) {
    try {
      await page.waitForFunction(() => {
        const z = RED.workspaces.active();
        return RED.nodes.filterNodes({ z }).some((n: any) => n.status && n.status.fill === "green");
      }, null, { timeout: 60000 });
    } catch {
      throw new Error(`${what}: no node status turned green within 60 s; statuses: ${JSON.stringify(await statuses())}\n${nr!.output().slice(-3000)}`);
    }
  }

  it("opens with the simulated-line demo deployed, its nodes turning green", async function () {
    const tabs = await page.evaluate(() => {
      const out: string[] = [];
      RED.nodes.eachWorkspace((w: any) => out.push(w.label));
      return out;
    });
    assert.ok(tabs.length > 0, "the demo flow has a tab");
    await pressInjects();
    await waitForGreen("the demo flow");
    await page.waitForTimeout(1500); // let the statuses settle for the picture
    await framed(async () => page.screenshot({ path: path.join(SHOTS, "demo-flow.png") }));
  });

  it("lists every node type of the package in the palette (config nodes in the registry)", async function () {
    const missing: string[] = [];
    for (const type of TYPES) {
      const category = await page.evaluate((t) => RED.nodes.getType(t)?.category, type);
      if (category === undefined) {
        missing.push(`${type} (not registered in the editor)`);
        continue;
      }
      if (category === "config") continue;
      if ((await page.locator(`.red-ui-palette-node[data-palette-type='${type}']`).count()) !== 1) missing.push(type);
    }
    assert.deepEqual(missing, [], "every node type is in the palette");
  });

  it("drags each node type onto a new flow and opens its edit dialog without a console error", async function () {
    await page.evaluate(() => RED.actions.invoke("core:add-flow"));
    await page.waitForTimeout(300);
    const errorsBefore = consoleErrors.length;
    const chart = page.locator("#red-ui-workspace-chart");
    const box = (await chart.boundingBox())!;
    let i = 0;
    for (const type of TYPES) {
      const category = await page.evaluate((t) => RED.nodes.getType(t).category, type);
      if (category === "config") {
        // a config node's dialog is the one its users open with the pencil button
        await page.evaluate((t) => RED.editor.editConfig("", t, "_ADD_"), type);
      } else {
        const before = await page.evaluate((t) => RED.nodes.filterNodes({ z: RED.workspaces.active(), type: t }).length, type);
        const x = 80 + (i % 6) * 170;
        const y = 60 + Math.floor(i / 6) * 70;
        i++;
        const item = page.locator(`.red-ui-palette-node[data-palette-type='${type}']`);
        await item.scrollIntoViewIfNeeded();
        await item.dragTo(chart, { targetPosition: { x: Math.min(x, box.width - 60), y: Math.min(y, box.height - 40) } });
        const id = await page.evaluate(
          ([t, n]) => {
            const nodes = RED.nodes.filterNodes({ z: RED.workspaces.active(), type: t });
            return nodes.length > n ? nodes[nodes.length - 1].id : null;
          },
          [type, before] as const,
        );
        assert.ok(id, `${type}: dropping it from the palette added a node`);
        await page.locator(`[id="${id}"]`).first().dblclick({ force: true });
      }
      const tray = page.locator(".red-ui-tray:visible #node-dialog-cancel, .red-ui-tray:visible #node-config-dialog-cancel");
      try {
        await tray.first().waitFor({ state: "visible", timeout: 15000 });
      } catch {
        throw new Error(`${type}: its edit dialog did not open`);
      }
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(SHOTS, `dialog-${type}.png`) });
      await tray.first().click();
      await page.waitForFunction(() => !document.querySelector(".red-ui-tray"), null, { timeout: 15000 }).catch(async () => {
        // a config dialog opened on its own sits alone in the tray stack
        await page.keyboard.press("Escape");
      });
      await page.waitForTimeout(200);
      assert.deepEqual(consoleErrors.slice(errorsBefore), [], `${type}: no console error while its dialog was open`);
    }
    // leave the scratch flow out of the deploys that follow
    await page.evaluate(() => RED.workspaces.delete(RED.nodes.workspace(RED.workspaces.active())));
  });

  for (const file of EXAMPLES) {
    it(`imports "${file}" through the Import menu, deploys it, and its nodes turn green`, async function () {
      // the demo's PLC serves on the fixed port 4842, which the started demo (npm start) already moved to nr.plcPort:
      // an imported copy of the demo serves on a free port, an imported operator screen reads the started demo's PLC
      const text = fs
        .readFileSync(path.join(REPO_ROOT, "examples", file), "utf8")
        .replace(/"opcuaPort": 4842\b/g, `"opcuaPort": ${await freePort()}`)
        .replace(/127\.0\.0\.1:4842\b/g, `127.0.0.1:${nr!.plcPort}`);
      const exTabs: string[] = JSON.parse(text).filter((n: any) => n.type === "tab").map((n: any) => n.label);
      await page.click("#red-ui-header-button-sidemenu");
      await page.click("#menu-item-import");
      await page.waitForSelector("#red-ui-clipboard-dialog-import-text", { state: "visible" });
      await page.fill("#red-ui-clipboard-dialog-import-text", text);
      await page.press("#red-ui-clipboard-dialog-import-text", "End"); // the dialog validates on keyup
      const newFlow = page.locator("#red-ui-clipboard-dialog-import-opt-new:not(.disabled)");
      if (await newFlow.count()) await newFlow.click();
      await page.click("#red-ui-clipboard-dialog-ok");
      // nodes that already exist (the demo is deployed): import a copy, as a person would
      const copy = page.locator(".red-ui-notification button", { hasText: /import copy/i });
      if (await copy.first().isVisible({ timeout: 1500 }).catch(() => false)) await copy.first().click();
      // imported nodes follow the mouse until a click places them
      await page.mouse.click(box0(await page.locator("#red-ui-workspace-chart").boundingBox()).x + 40, box0(await page.locator("#red-ui-workspace-chart").boundingBox()).y + 40);
      if (exTabs.length) {
        await page.evaluate((label) => {
          let id: string | null = null;
          RED.nodes.eachWorkspace((w: any) => {
            if (w.label === label) id = w.id;
          });
          if (id) RED.workspaces.show(id);
        }, exTabs[exTabs.length - 1]);
      }
      const invalid = await page.evaluate(() => {
        const out: string[] = [];
        RED.nodes.eachNode((n: any) => {
          if (n.valid === false) out.push(`${n.type} ${n.name || n.id}`);
        });
        RED.nodes.eachConfig((n: any) => {
          if (n.valid === false && n.users && n.users.length) out.push(`${n.type} ${n.name || n.id}`);
        });
        return out;
      });
      assert.deepEqual(invalid, [], `${file}: every node is validly configured after import`);
      await page.click("#red-ui-header-button-deploy");
      const confirm = page.locator("#node-dialog-confirm-deploy-deploy");
      if (await confirm.isVisible({ timeout: 1000 }).catch(() => false)) {
        const dialog = await page.locator(".ui-dialog:visible").innerText();
        throw new Error(`${file}: deploying asked for confirmation: ${dialog}`);
      }
      await page.waitForSelector(".red-ui-notification:has-text('Successfully deployed')", { timeout: 90000 } /* a full redeploy of every imported tab takes 15-33 s on a busy 2-core machine */).catch((e) => {
        throw new Error(`${file}: the deploy was not confirmed within 90 s (${(e as Error).message.split("\n")[0]}); Node-RED said:\n${nr!.output().slice(-6000)}`);
      });
      await pressInjects();
      await waitForGreen(file);
      await page.waitForTimeout(3000);
      // after the click-through, no node of the example shows a red status
      const red = (await statuses()).filter((st) => st.fill === "red").map((st) => `${st.type} ${st.name || st.id}: ${st.text}`);
      assert.deepEqual(red, [], `${file}: no node ends red`);
      await framed(async () => page.screenshot({ path: path.join(SHOTS, `example-${file.replace(/\.json$/, "").replace(/[^A-Za-z0-9]+/g, "-")}.png`) }));
      assert.deepEqual(consoleErrors, [], `${file}: no console error`);
    });
  }

  it("shows the Serialization sidebar tab with the pools' counts", async function () {
    const tab = page.locator("#red-ui-sidebar .red-ui-tab", { hasText: "Serialization" });
    assert.equal(await tab.count(), 1, "the sidebar has a Serialization tab");
    // a tab beyond the visible tab bar is reached through the sidebar's menu; show it the same way
    const id = ((await tab.getAttribute("id")) ?? "").replace(/^red-ui-tab-/, "");
    await page.evaluate((t) => RED.sidebar.show(t), id);
    await page.waitForTimeout(2000);
    const content = await page.locator("#red-ui-sidebar-content").innerText();
    assert.match(content, /Commissioned|Allocated|Unassigned/, "the tab shows counts by PSS state");
    await page.screenshot({ path: path.join(SHOTS, "sidebar.png") });
    assert.deepEqual(consoleErrors, [], "no console error");
  });
});

function box0(b: { x: number; y: number } | null): { x: number; y: number } {
  if (!b) throw new Error("the workspace is not visible");
  return b;
}
