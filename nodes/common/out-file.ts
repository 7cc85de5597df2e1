/* Output files under the Node-RED user directory whose names never collide: `{seq}` in a file name becomes the next
   free sequence number (0001, 0002, ...), `{time}` a UTC time stamp; the name is reserved by creating the file
   exclusively, so two exports never write the same file. */
import * as fs from "fs";
import * as path from "path";

/** True when a file name asks for a fresh name on every write. */
export function isUniquePattern(pattern: string): boolean {
  return /\{seq\}|\{time\}/.test(pattern);
}

/** `name.ext` → `name-{seq}.ext`: the pattern of a name that has no placeholder. */
export function withSequence(pattern: string): string {
  if (isUniquePattern(pattern)) return pattern;
  const ext = path.extname(pattern);
  return `${pattern.slice(0, pattern.length - ext.length)}-{seq}${ext}`;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");

/** Resolve `pattern` under `userDir` and reserve a file of that name that did not exist before (created empty). */
export function reserveOutFile(userDir: string, pattern: string, now = new Date()): string {
  const file = path.resolve(userDir, pattern.replace(/\{time\}/g, stamp(now)));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!file.includes("{seq}")) {
    // a time stamp alone may repeat within a second: a sequence suffix keeps the name unique
    const ext = path.extname(file);
    for (let n = 0; ; n++) {
      const f = n === 0 ? file : `${file.slice(0, file.length - ext.length)}-${n}${ext}`;
      if (tryCreate(f)) return f;
    }
  }
  // the next number after the highest one already in the folder for this name
  const base = path.basename(file);
  const [before, after] = [base.slice(0, base.indexOf("{seq}")), base.slice(base.indexOf("{seq}") + 5)];
  let next = 1;
  for (const e of fs.readdirSync(path.dirname(file))) {
    if (!e.startsWith(before) || !e.endsWith(after)) continue;
    const mid = e.slice(before.length, e.length - after.length);
    if (/^\d+$/.test(mid)) next = Math.max(next, Number(mid) + 1);
  }
  for (;; next++) {
    const f = path.join(path.dirname(file), base.replace("{seq}", String(next).padStart(4, "0")));
    if (tryCreate(f)) return f;
  }
}

function tryCreate(file: string): boolean {
  try {
    fs.closeSync(fs.openSync(file, "wx"));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}
