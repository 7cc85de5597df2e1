/* Which errors become an OPEN-SCS ReturnStatus and which a Bad_ status: every rule of the store (a PssError,
   whatever its code, including codes added after the server's list was written) is a business refusal; a
   storage fault (StoreError: busy, disk full, I/O) never is. */
import assert from "node:assert/strict";
import { StatusCodes } from "node-opcua";
import Database from "better-sqlite3";
import { refusalStatus, faultStatus } from "../../nodes/core/opcua/server";
import { storageFault } from "../../nodes/core/opcua/backend";
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

  it("PostgreSQL faults: a lost connection is Bad_NoCommunication (rolled back, try again) or, broken during COMMIT, Bad_CommunicationError (look before repeating); a setting to fix Bad_ConfigurationError", function () {
    const lost = new StoreError("ConnectionLost", "the connection broke during the call", undefined, { pgCode: "57P01" });
    const doubt = new StoreError("ConnectionLost", "the connection broke while committing", undefined, { pgCode: "57P01", inDoubt: true });
    for (const [e, status] of [
      [lost, StatusCodes.BadNoCommunication],
      [doubt, StatusCodes.BadCommunicationError],
      [new StoreError("AuthenticationFailed", "refused login", undefined, { pgCode: "28P01" }), StatusCodes.BadConfigurationError],
      [new StoreError("TlsFailed", "no TLS"), StatusCodes.BadConfigurationError],
      [new StoreError("SchemaTooNew", "newer schema"), StatusCodes.BadConfigurationError],
    ] as const) {
      assert.equal(refusalStatus(e, "pool"), null, `${e.code} is not a refusal`);
      assert.equal(faultStatus(e), status, `${e.message} → ${status.name}`);
    }
  });

  it("a SQLite error the store did not translate (met outside its transactions) is translated by the backend, to the same status as before", function () {
    const { SqliteError } = Database;
    for (const [err, code, status] of [
      [new SqliteError("database is locked", "SQLITE_BUSY"), "PoolBusy", StatusCodes.BadResourceUnavailable],
      [new SqliteError("database table is locked", "SQLITE_LOCKED"), "PoolBusy", StatusCodes.BadResourceUnavailable],
      [new Error("database is locked"), "PoolBusy", StatusCodes.BadResourceUnavailable],
      [new SqliteError("database or disk is full", "SQLITE_FULL"), "DiskFull", StatusCodes.BadOutOfMemory],
      [new SqliteError("disk I/O error", "SQLITE_IOERR_WRITE"), "DiskFull", StatusCodes.BadOutOfMemory],
      [new SqliteError("database disk image is malformed", "SQLITE_CORRUPT"), "SQLITE_CORRUPT", StatusCodes.BadInternalError],
    ] as const) {
      const fault = storageFault(err) as { code?: string; message?: string };
      assert.equal(fault.code, code, err.message);
      assert.equal(fault.message, err.message, "the SQLite message is kept");
      assert.equal(refusalStatus(fault, "pool"), null, `${err.message} is not a refusal`);
      assert.equal(faultStatus(fault), status, `${err.message} → ${status.name}`);
    }
    const rule = new PssError("UnknownPool", "no pool P");
    assert.equal(storageFault(rule), rule, "a rule refusal passes unchanged");
  });
});
