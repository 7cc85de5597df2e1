/* Payloads built in a function node come from another VM context: they are plain objects all the same. */
import assert from "node:assert/strict";
import * as vm from "vm";
import { isPlainObject, payloadObject } from "../../nodes/common/args";

describe("isPlainObject across VM contexts (function nodes)", function () {
  it("accepts an object literal made in another context, and still refuses arrays, class instances and maps", function () {
    const foreign = vm.runInNewContext("({ count: 1, serialNumbers: ['A'] })");
    assert.notEqual(Object.getPrototypeOf(foreign), Object.prototype, "the test object really is from another realm");
    assert.equal(isPlainObject(foreign), true);
    assert.equal(payloadObject(foreign, false), foreign);
    assert.equal(isPlainObject(Object.create(null)), true);
    assert.equal(isPlainObject(vm.runInNewContext("[1]")), false);
    assert.equal(isPlainObject(new Map()), false);
    assert.equal(isPlainObject(vm.runInNewContext("new (class X {})()")), false);
    assert.equal(isPlainObject(new (class Y {})()), false);
    assert.equal(isPlainObject(new Date()), false);
  });
});
