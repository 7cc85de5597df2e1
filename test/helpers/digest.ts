import * as crypto from "crypto";
import Database from "better-sqlite3";

/** A sha256 over every row of every table of a SQLite file, read through its own connection: equal digests
    before and after a refused call mean the store was left exactly as it was. */
export function dbDigest(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const h = crypto.createHash("sha256");
    const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string; sql: string }>;
    for (const t of tables) {
      h.update(`table ${t.name}\n${t.sql}\n`);
      const rows = db.prepare(`SELECT * FROM "${t.name.replace(/"/g, '""')}"`).raw(true).all() as unknown[][];
      const lines = rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? v.toString() : Buffer.isBuffer(v) ? v.toString("hex") : v)));
      lines.sort();
      for (const l of lines) h.update(l + "\n");
    }
    return h.digest("hex");
  } finally {
    db.close();
  }
}
