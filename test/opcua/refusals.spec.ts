/* Which errors become an OPEN-SCS ReturnStatus and which a Bad_ status: every rule of the store (a PssError,
   whatever its code, including codes added after the server's list was written) is a business refusal; a
   storage fault (StoreError: busy, disk full, I/O) never is. */
import assert from "node:assert/strict";
import { StatusCodes } from "node-opcua";
import { refusalStatus, faultStatus } from "../../nodes/core/opcua/server";
import { PssError, StoreError } from "../../nodes/core/store";

describe("OPC UA: refusals and faults", function () {
  it("a store rule the server's list does not name is still a refusal of the method's family", function () {
    const e = new PssError("InvalidLevel", "level 3 is not defined for this pool");
    assert.equal(refusalStatus(e, "sid"), "UnableToAcceptSIDEvents");
    assert.equal(refusalStatus(new PssError("PoolInUse", "pool P has numbers"), "pool"), "InvalidSerialNumberCollection");
    assert.equal(refusalStatus(new PssError("InsufficientSerialNumbers", "empty"), "pool"), "InsufficientSerialNumbers");
  });

  it("storage faults are Bad_ statuses, never a ReturnStatus", function () {
    for (const [code, status] of [["PoolBusy", StatusCodes.BadResourceUnavailable], ["DiskFull", StatusCodes.BadOutOfMemory], ["StorageError", StatusCodes.BadInternalError]] as const) {
      const e = new StoreError(code, `the pool file: ${code}`, "SQLITE_X");
      assert.equal(refusalStatus(e, "label"), null, `${code} is not a refusal`);
      assert.equal(faultStatus(e), status, `${code} → ${status.name}`);
    }
    assert.equal(refusalStatus(new PssError("StoreClosed", "closed"), "pool"), null, "a closed store is a fault");
  });
});
