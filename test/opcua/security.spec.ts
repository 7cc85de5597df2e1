/* Security as a plant expects: SignAndEncrypt only, users with roles, no anonymous access, explicit
   certificate trust; and the development opt-ins (anonymous, auto-accept) when asked for. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { connectOpenScs } from "../../nodes/core/opcua";
import { dbDigest } from "../helpers/digest";
import { startRig, Rig } from "./fixtures";

describe("OPEN-SCS security (defaults)", function () {
  let rig: Rig;

  before(async function () {
    rig = await startRig({ provision: 20 });
  });
  after(async function () {
    await rig?.stop();
  });

  it("refuses anonymous sessions when anonymous access is off (the default)", async function () {
    await assert.rejects(rig.connect(), /ANONYMOUS|BadIdentityTokenInvalid|BadUserAccessDenied|anonymous/i);
  });

  it("refuses a wrong password and an unknown user", async function () {
    await assert.rejects(rig.connect("admin", "not-the-password"), /BadUserAccessDenied|BadIdentityTokenRejected/);
    await assert.rejects(rig.connect("nobody", "admin-pw"), /BadUserAccessDenied|BadIdentityTokenRejected/);
  });

  it("answers a reader's push and request with InsufficientPrivilegeToExecute (call status Good), store unchanged", async function () {
    const before = dbDigest(rig.file);
    const reader = await rig.connect("reader", "reader-pw");
    assert.equal((await reader.snTo("Encoded", { snCollection: { serialNumbers: ["R-1"] } })).returnStatus, "InsufficientPrivilegeToExecute");
    const req = await reader.snRequest("Allocated", { count: 1 });
    assert.equal(req.returnStatus, "InsufficientPrivilegeToExecute");
    assert.deepEqual(req.snCollection.serialNumbers, []);
    assert.equal((await reader.event("SIDCommissioningEvent", { labelCollection: { serialNumbers: ["R-1"] } })).returnStatus, "InsufficientPrivilegeToExecute");
    assert.equal(dbDigest(rig.file), before);
    const supplier = await rig.connect("supplier", "supplier-pw");
    assert.equal((await supplier.snRequest("Allocated", { count: 1 })).returnStatus, "InsufficientPrivilegeToExecute", "a pusher may not request");
    assert.equal(dbDigest(rig.file), before);
    assert.equal((await supplier.snTo("Unallocated", { snCollection: { serialNumbers: ["S-1"] } })).returnStatus, "NoError", "a pusher may push");
  });

  it("serves SignAndEncrypt with Aes128_Sha256_RsaOaep as well as Basic256Sha256, and offers no unsecured endpoint", async function () {
    const c = await rig.connect("line", "line-pw", { mode: "SignAndEncrypt", policy: "Aes128_Sha256_RsaOaep" });
    assert.equal((await c.snRequest("Allocated", { count: 1 })).returnStatus, "NoError");
    await assert.rejects(rig.connect("line", "line-pw", { mode: "None" }));
  });

  it("refuses a client whose certificate was not trusted explicitly", async function () {
    const stranger = fs.mkdtempSync(path.join(os.tmpdir(), "serialflow-stranger-"));
    try {
      await assert.rejects(
        connectOpenScs({ endpointUrl: rig.server.endpointUrl, user: "admin", password: "admin-pw", pkiFolder: stranger, trustServerCertificate: rig.server.certificate, maxRetry: 0 }),
        /BadSecurityChecksFailed|rejected|BadCertificate/i,
      );
    } finally {
      fs.rmSync(stranger, { recursive: true, force: true });
    }
  });
});

describe("OPEN-SCS security (development opt-ins)", function () {
  let rig: Rig;

  before(async function () {
    rig = await startRig({ provision: 5, server: { allowAnonymous: true, anonymousRoles: ["requester"], autoAcceptUnknownCertificates: true } });
  });
  after(async function () {
    await rig?.stop();
  });

  it("lets an anonymous session act with the anonymous roles only, and accepts an unknown certificate when auto-accept is on", async function () {
    const stranger = fs.mkdtempSync(path.join(os.tmpdir(), "serialflow-stranger-"));
    try {
      const c = await connectOpenScs({ endpointUrl: rig.server.endpointUrl, pkiFolder: stranger, trustServerCertificate: rig.server.certificate, maxRetry: 0 });
      try {
        assert.equal((await c.snRequest("Allocated", { count: 1 })).returnStatus, "NoError");
        assert.equal((await c.snTo("Encoded", { snCollection: { serialNumbers: ["ANON-1"] } })).returnStatus, "InsufficientPrivilegeToExecute");
      } finally {
        await c.close();
      }
    } finally {
      fs.rmSync(stranger, { recursive: true, force: true });
    }
  });
});
