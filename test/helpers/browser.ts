/* The browser tests' Chromium: Debian's (or SERIALFLOW_CHROMIUM); absent, a suite is skipped with the reason printed,
   unless SERIALFLOW_REQUIRE_BROWSER=1 (CI installs Chromium and requires it). */
import * as fs from "fs";

export const CHROMIUM: string | undefined = [process.env.SERIALFLOW_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
  (p): p is string => !!p && fs.existsSync(p),
);

/** In a suite's before hook: skips it, printing why, when there is no Chromium (fails when one is required). */
export function requireChromium(ctx: Mocha.Context): string {
  if (CHROMIUM) return CHROMIUM;
  if (process.env.SERIALFLOW_REQUIRE_BROWSER === "1") throw new Error("SERIALFLOW_REQUIRE_BROWSER=1 but no Chromium: apt-get install chromium");
  console.log("      skipped: no Chromium (install Debian's chromium package or set SERIALFLOW_CHROMIUM)");
  ctx.skip();
  throw new Error("unreachable: skipped");
}
