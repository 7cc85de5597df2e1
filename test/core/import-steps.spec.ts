/* importFileInSteps (the editor's import): the file is read and checked in blocks, as a whole, and only then
   stored in steps; a bad file leaves the store exactly as before with every bad line named, the same as importFile. */
import assert from "node:assert/strict";
import * as path from "path";
import { openPoolStore, PssError } from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";

describe("store: importFileInSteps", function () {
  let tmp: ReturnType<typeof tmpDir>;
  before(() => (tmp = tmpDir()));
  after(() => tmp.cleanup());

  function fresh(name: string) {
    const file = path.join(tmp.dir, `${name}.db`);
    const store = openPoolStore(file);
    store.createPool({ poolId: "P", sidClass: "GS1-SGTIN" });
    return { file, store };
  }
  const serials = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `S${String(from + i).padStart(8, "0")}`);

  it("stores a file in steps, one audited part each, with line-exact progress up to the total", async function () {
    const { store } = fresh("ok");
    try {
      const text = ["# authority order 42", ...serials(95), ""].join("\n");
      const progress: Array<[number, number]> = [];
      const r = await store.importFileInSteps("P", text, { actor: "t", step: 20, block: 7, onProgress: (d, t) => progress.push([d, t]) });
      assert.equal(r.added, 95);
      assert.equal(store.countByState("P").Unassigned, 95);
      const parts = [...store.auditRecords({})].filter((a) => a.context?.importParts === "5");
      assert.equal(parts.length, 5, "five parts of 20, 20, 20, 20, 15 numbers, each audited");
      assert.deepEqual(parts.map((a) => a.serialNumbers.length), [20, 20, 20, 20, 15]);
      for (let i = 1; i < progress.length; i++) assert.ok(progress[i][0] >= progress[i - 1][0], "progress never goes back");
      const [done, total] = progress[progress.length - 1];
      assert.equal(done, total);
    } finally {
      store.close();
    }
  });

  it("refuses a file with bad lines in several blocks: every line named, nothing stored", async function () {
    const { file, store } = fresh("bad");
    try {
      const lines = serials(60);
      lines[3] = "has space";
      lines[41] = "x".repeat(30);
      const before = dbDigest(file);
      const err = await store.importFileInSteps("P", lines.join("\n"), { actor: "t", step: 10, block: 10 }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof PssError, String(err));
      assert.equal(err.code, "InvalidImportFile");
      const reasons = (err.details ?? []).map((d) => d.reason).join(" | ");
      assert.match(reasons, /line 4\b/);
      assert.match(reasons, /line 42\b/);
      assert.equal(dbDigest(file), before, "the store is exactly as before");
    } finally {
      store.close();
    }
  });

  it("refuses a number twice across blocks and a number already stored, with their lines; nothing stored", async function () {
    const { file, store } = fresh("dup");
    try {
      store.provision("P", ["S00000050"], { actor: "t" });
      const lines = serials(40);
      lines[35] = lines[2];
      const before = dbDigest(file);
      const twice = await store.importFileInSteps("P", lines.join("\n"), { actor: "t", step: 10, block: 10 }).then(() => null, (e: unknown) => e);
      assert.ok(twice instanceof PssError);
      assert.equal(twice.code, "DuplicateInBatch");
      assert.match(twice.message, /line 36: "S00000002" appears more than once/);
      const stored = await store.importFileInSteps("P", serials(60, 20).join("\n"), { actor: "t", step: 10, block: 10 }).then(() => null, (e: unknown) => e);
      assert.ok(stored instanceof PssError);
      assert.equal(stored.code, "DuplicateSerialNumber");
      assert.match(stored.message, /line 31: "S00000050" is already in the store/);
      assert.equal(dbDigest(file), before, "the store is exactly as before");
    } finally {
      store.close();
    }
  });
});
