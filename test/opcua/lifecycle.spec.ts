/* Start and shutdown as a Node-RED node does on redeploy: the same port again and again, nothing left behind. */
import assert from "node:assert/strict";
import * as net from "net";
import * as path from "path";
import { createOpenScsServer } from "../../nodes/core/opcua";
import { freePort } from "../helpers/net";
import { tmpDir } from "../helpers/tmp";
import { openStore, sharedPki, TEST_SID_CLASS, TestStore } from "./fixtures";

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });

const handles = () => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;

describe("OPEN-SCS server lifecycle", function () {
  let tmp: { dir: string; cleanup: () => void };
  let store: TestStore;

  before(function () {
    tmp = tmpDir("serialflow-opcua-life-");
    store = openStore(path.join(tmp.dir, "pool.db"));
    store.createPool({ poolId: "default", sidClass: TEST_SID_CLASS, isDefault: true });
  });
  after(function () {
    store?.close();
    tmp?.cleanup();
  });

  it("restarts on the same port 5 times; after each shutdown the port is free and no handle is left", async function () {
    const { folder } = await sharedPki();
    const port = await freePort();
    let baseline = -1;
    for (let i = 0; i < 5; i++) {
      const server = await createOpenScsServer({ store, port, pkiFolder: folder, users: [{ name: "a", password: "b", roles: ["admin"] }], log: () => undefined });
      assert.equal(server.port, port);
      assert.equal(await canListen(port), false, "the server holds the port while running");
      await server.shutdown();
      await server.shutdown(); // a second close (Node-RED may call close twice) is harmless
      assert.equal(await canListen(port), true, `port ${port} is free after shutdown ${i + 1}`);
      await new Promise((r) => setImmediate(r));
      if (i === 1) baseline = handles();
      if (i > 1) assert.ok(handles() <= baseline, `active handles grew from ${baseline} to ${handles()}`);
    }
  });

  it("refuses to start on a port in use with a clear error, and leaves nothing behind", async function () {
    const { folder } = await sharedPki();
    const blocker = net.createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as net.AddressInfo).port)));
    try {
      await assert.rejects(createOpenScsServer({ store, port, pkiFolder: folder, users: [], log: () => undefined }), /EADDRINUSE|in use/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    assert.equal(await canListen(port), true);
  });
});
