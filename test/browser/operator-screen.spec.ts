/* The operator screen (examples/Operator screen.json, FlowFuse Dashboard 2.0) as an operator sees it: Node-RED
   started by `npm start` (scripts/start.js) with the demo line and its screen, the line run with the demo's own
   inject buttons (the admin API's POST /inject/<id>, what a click sends), the dashboard page read in Debian's
   Chromium through playwright-core. Its figures must equal the pool's counts as `serialflow pool reconcile
   --report --json` gives them after the run (a read-only report), and the PLC's counters it reads over OPC UA
   must agree with the pool. A screenshot of the screen while the line runs goes to out/screenshots/.
   Chromium as in editor.spec.ts: skipped with a message when absent, unless SERIALFLOW_REQUIRE_BROWSER=1. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { spawnSync } from "child_process";
import type { Browser, Page } from "playwright-core";
import { tmpDir } from "../helpers/tmp";
import { until } from "../helpers/until";
import { REPO_ROOT } from "../helpers/paths";
import { CHROMIUM, requireChromium } from "../helpers/browser";
import { startNodeRed, StartedNodeRed } from "../helpers/start";

const SHOTS = path.join(REPO_ROOT, "out", "screenshots");
const CLI = path.join(REPO_ROOT, "dist", "bin", "serialflow.js");
const LOT = "L2026A";

interface Counts {
  printed: number;
  released: number;
  scrapped: number;
  stillAllocated: number;
  stillEncoded: number;
  openParents: number;
  states: Record<string, number>;
}
interface Report {
  poolId: string;
  pool: Counts;
  lots: Array<{ lot: string } & Counts>;
}

/** what the operator screen shows, read from the page: ui-text values by label, ui-table rows by widget */
interface Screen {
  texts: Record<string, string>;
  tables: Record<string, string[][]>;
  gauge: string;
}

const num = (s: string | undefined) => (s === undefined ? NaN : Number(s.replace(/,/g, "")));

function post(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST" }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the operator screen (FlowFuse Dashboard 2.0) while the demo line runs", function () {
  this.timeout(300_000);
  let tmp: ReturnType<typeof tmpDir>;
  let nr: StartedNodeRed | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async function () {
    requireChromium(this);
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = tmpDir("serialflow-operator-");
    nr = await startNodeRed(tmp.dir, { SERIALFLOW_RESET_FLOW: "1" });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
  });

  after(async function () {
    if (browser) await browser.close();
    if (nr) await nr.stop();
    if (tmp) tmp.cleanup();
  });

  const db = () => path.join(tmp.dir, "serialflow", "serialflow.db");
  /** the pool's counts and its batch report, as the command line gives them (read-only) */
  function report(): Report {
    const r = spawnSync(process.execPath, [CLI, "pool", "reconcile", "--db", db(), "--pool", "DEMO", "--report", "--json"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { report: Report[] };
    return out.report.find((x) => x.poolId === "DEMO")!;
  }
  const click = async (id: string) => assert.equal(await post(`${nr!.base}inject/${id}`), 200, `inject ${id}`);

  async function screen(): Promise<Screen> {
    return page.evaluate(() => {
      const texts: Record<string, string> = {};
      for (const el of Array.from(document.querySelectorAll(".nrdb-ui-text"))) {
        const label = el.querySelector(".nrdb-ui-text-label");
        const value = el.querySelector(".nrdb-ui-text-value");
        if (label && value) texts[(label.textContent ?? "").trim()] = (value.textContent ?? "").trim();
      }
      const tables: Record<string, string[][]> = {};
      for (const id of ["op-states", "op-batch", "op-causes", "op-docs", "op-alarm-list"]) {
        const w = document.getElementById(`nrdb-ui-widget-${id}`);
        if (!w) continue;
        tables[id] = Array.from(w.querySelectorAll("tbody tr"))
          .map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => (td.textContent ?? "").trim()))
          .filter((cells) => cells.length > 1);
      }
      const g = document.getElementById("nrdb-ui-widget-op-level");
      const lines = (g ? (g as HTMLElement).innerText : "").split("\n").map((l) => l.trim()).filter(Boolean);
      return { texts, tables, gauge: lines[lines.indexOf("free numbers") - 1] ?? "" };
    });
  }

  /** the figures of the screen that the pool's counts decide, and those counts */
  function figures(s: Screen) {
    const rows = (id: string) => Object.fromEntries((s.tables[id] ?? []).map((r) => [r[0], num(r[1])]));
    const causes = rows("op-causes");
    return {
      "counts by state": rows("op-states"),
      "pool level (free numbers)": num(s.gauge),
      "batch counts": rows("op-batch"),
      lot: s.texts["Lot"],
      "good units (PLC over OPC UA)": num(s.texts["Good units"]),
      "rejected units (PLC over OPC UA)": num(s.texts["Rejected units"]),
      "rejected by cause, in all": Object.values(causes).reduce((a, b) => a + b, 0),
    };
  }
  function expected(r: Report) {
    const st = r.pool.states;
    const b = r.lots.find((l) => l.lot === LOT);
    assert.ok(b, `the batch report has lot ${LOT}: ${JSON.stringify(r.lots.map((l) => l.lot))}`);
    return {
      "counts by state": Object.fromEntries(Object.entries(st).filter(([, n]) => n > 0)),
      "pool level (free numbers)": st.Unassigned + st.Unallocated,
      "batch counts": {
        "labels printed": b!.printed,
        "commissioned (in stock)": b!.states.Commissioned,
        "released (shipped)": b!.states.Released,
        "labels scrapped": b!.scrapped,
        "still allocated": b!.stillAllocated,
        "still encoded": b!.stillEncoded,
        "cases open": b!.openParents,
      },
      lot: `${LOT} · expiry 2028-12-31`,
      // every good unit is commissioned (and released once its case ships); every rejected unit's label is scrapped
      "good units (PLC over OPC UA)": st.Commissioned + st.Released,
      "rejected units (PLC over OPC UA)": st.LabelScrapped,
      "rejected by cause, in all": st.LabelScrapped,
    };
  }

  it("shows the line's figures while it runs (screenshot), and after the run exactly the pool's counts", async function () {
    // the flows top the pools up on deploy
    await until("the demo pool to be provisioned", () => {
      const r = report();
      return r.pool.states.Unassigned + r.pool.states.Unallocated >= 500 ? true : undefined;
    }, 90_000);
    await page.goto(`${nr!.base}dashboard/line`);
    await page.waitForSelector("#nrdb-ui-widget-op-states", { timeout: 60_000 });

    // the operator's morning: a few bursts, then the line running on its own
    for (let i = 0; i < 3; i++) await click("demo-i-run");
    await click("demo-i-start");
    // the screen follows the line: the PLC's counters over OPC UA and the pool's counts move
    let seen: Screen | undefined;
    const running = await until("the screen to show units and a line rate", async () => {
      const s = (seen = await screen());
      // (the minutes left follow the rate of the PLC's previous read: both wait for a rate)
      const left = /^[\d,]+ min at [\d,]+ units\/min$/.test(s.texts["Production left"] ?? "");
      return num(s.texts["Good units"]) >= 40 && num(/^[\d,]+/.exec(s.texts["Line rate"] ?? "")?.[0]) > 0 && left && (s.tables["op-docs"] ?? []).length >= 2 ? s : undefined;
    }, 120_000).catch((e: Error) => {
      throw new Error(`${e.message}\nthe screen showed: ${JSON.stringify(seen)}\nNode-RED's log:\n${nr!.output().slice(-3000)}`);
    });
    const [minutes, rate] = (running.texts["Production left"].match(/[\d,]+/g) ?? []).map(num);
    assert.ok(rate > 0 && minutes >= 0, `minutes of production left at the current rate: ${running.texts["Production left"]}`);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: path.join(SHOTS, "operator-screen.png") });

    await click("demo-i-stop");
    // the line has stopped once the PLC's counters stay the same and no number is in flight
    let last = "";
    await until("the line to stop and every unit to be decided", async () => {
      const s = await screen();
      const r = report();
      const now = JSON.stringify([s.texts["Good units"], s.texts["Rejected units"], r.pool.states]);
      const settled = now === last && r.pool.stillAllocated === 0 && r.pool.stillEncoded === 0;
      last = now;
      if (!settled) await new Promise((res) => setTimeout(res, 3000));
      return settled ? true : undefined;
    }, 120_000);
    // end of the lot: the open case closes and ships
    await click("demo-i-close");
    await until("the open case to ship", () => (report().pool.states.Commissioned === 0 ? true : undefined), 60_000);

    const want = expected(report());
    assert.ok(want["good units (PLC over OPC UA)"] >= 40, JSON.stringify(want));
    let got: ReturnType<typeof figures> | undefined;
    try {
      // the screen refreshes every 2 s
      await until("the operator screen to show the pool's counts", async () => {
        got = figures(await screen());
        return JSON.stringify(got) === JSON.stringify(want) ? true : undefined;
      }, 30_000);
    } catch {
      /* the assertion below names every figure that differs */
    }
    assert.deepEqual(got, want, "the operator screen's figures are the pool's counts");
    console.log(`      screen after the run: ${JSON.stringify(got)}`);

    // the last documents sent: the newest EPCIS files the demo wrote, newest first
    const dir = path.join(tmp.dir, "serialflow", "demo");
    const files = fs.readdirSync(dir).filter((f) => /^epcis-case-\d+\.jsonld$/.test(f)).sort().reverse();
    await until("the last documents to be listed", async () => {
      const listed = ((await screen()).tables["op-docs"] ?? []).map((r) => r[1]);
      return JSON.stringify(listed) === JSON.stringify(files.slice(0, 5)) ? true : undefined;
    }, 30_000).catch(async () => assert.deepEqual(((await screen()).tables["op-docs"] ?? []).map((r) => r[1]), files.slice(0, 5), "the last documents sent"));
    const docs = (await screen()).tables["op-docs"];
    for (const row of docs) {
      const doc = JSON.parse(fs.readFileSync(path.join(dir, row[1]), "utf8")) as { epcisBody: { eventList: unknown[] } };
      assert.equal(num(row[2]), doc.epcisBody.eventList.length, `${row[1]}: its events`);
    }
    // every cause the screen names is one the line reports
    const causes = Object.fromEntries(((await screen()).tables["op-causes"] ?? []).map((r) => [r[0], num(r[1])]));
    for (const c of Object.keys(causes)) assert.ok(["misprint", "no read", "wrong code read", "low grade"].includes(c), `a known cause: ${c}`);
    assert.deepEqual(consoleErrors, [], "no console error on the dashboard page");
  });
});
