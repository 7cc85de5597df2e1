import * as fs from "fs";
import * as path from "path";

/** The repository root: the nearest folder above this file holding our package.json. */
export const REPO_ROOT: string = (() => {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "@serialflow/node-red-openscs") return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error("repository root not found above " + __dirname);
    dir = up;
  }
})();

/** ../shared next to the checkout: reference data the tests read but never copy. CI's second leg runs the
 *  tests from an installed copy of the package elsewhere and points here with SERIALFLOW_SHARED_DIR. */
export const SHARED_DIR = process.env.SERIALFLOW_SHARED_DIR
  ? path.resolve(process.env.SERIALFLOW_SHARED_DIR)
  : path.resolve(REPO_ROOT, "..", "shared");

/** Absolute path of a file under ../shared, or null when it is absent (the caller skips with a message). */
export function sharedFile(rel: string): string | null {
  const p = path.join(SHARED_DIR, rel);
  return fs.existsSync(p) ? p : null;
}

/** Skip the current mocha test or suite, printing why, when a ../shared file is missing. */
export function requireShared(ctx: Mocha.Context, rel: string): string {
  const p = sharedFile(rel);
  if (!p) {
    console.log(`      skipped: ${path.join("..", "shared", rel)} is absent (reference data lives outside the repository)`);
    ctx.skip();
  }
  return p as string;
}
