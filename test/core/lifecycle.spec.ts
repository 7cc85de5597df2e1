import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import {
  EVENTS, STATES, TRANSITIONS, TERMINAL_STATES, PssEvent, SerialNumberState, RETURN_STATUSES, transition, stateToEnum, stateFromEnum,
  returnStatusToEnum, forwardSteps, transitionTableMarkdown, POOL_FUNCTIONS, namedState, poolFunctionFor,
} from "../../nodes/core/lifecycle";
import { openPoolStore, PssError, SqlitePoolStore } from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";
import { REPO_ROOT } from "../helpers/paths";

/** How the test brings a fresh number into each state, through legal events only. */
const PATH: Record<SerialNumberState, PssEvent[]> = {
  Unassigned: [],
  Unallocated: ["provisioning"],
  Allocated: ["provisioning", "sn_allocating"],
  SNInvalid: ["sn_invalidating"],
  Encoded: ["provisioning", "sn_allocating", "sn_encoding"],
  LabelSampled: ["provisioning", "sn_allocating", "sn_encoding", "label_sampling"],
  LabelScrapped: ["provisioning", "sn_allocating", "sn_encoding", "label_scrapping"],
  Commissioned: ["provisioning", "sn_allocating", "sn_encoding", "commissioning"],
  Sampled: ["provisioning", "sn_allocating", "sn_encoding", "commissioning", "inspecting"],
  Inactive: ["provisioning", "sn_allocating", "sn_encoding", "commissioning", "decommissioning"],
  Destroyed: ["provisioning", "sn_allocating", "sn_encoding", "commissioning", "destroying"],
  Released: ["provisioning", "sn_allocating", "sn_encoding", "commissioning", "shipping"],
};

const sn = (policy: string, state: string, event: string) => `${policy}-${state}-${event}`;

describe("lifecycle: states, events, ReturnStatus and the transition table", function () {
  it("numbers the 12 states and 12 ReturnStatus names as the OPEN-SCS enums do", function () {
    assert.deepEqual([...STATES], ["Unassigned", "Unallocated", "Allocated", "SNInvalid", "Encoded", "LabelSampled", "LabelScrapped", "Commissioned", "Sampled", "Inactive", "Destroyed", "Released"]);
    assert.equal(stateToEnum("Commissioned"), 7);
    assert.equal(stateFromEnum(11), "Released");
    assert.throws(() => stateFromEnum(12), /no SerialNumber state has the enum value 12/);
    assert.equal(returnStatusToEnum("NoError"), 1);
    assert.equal(returnStatusToEnum("InsufficientPrivilegeToExecute"), 11);
    assert.equal(RETURN_STATUSES.length, 12);
    assert.equal(EVENTS.length, 16);
  });

  it("encodes the decisions of the issue: forward path, inspecting, label_inspecting, terminal states", function () {
    const fwd: Array<[SerialNumberState, PssEvent, SerialNumberState]> = [
      ["Unassigned", "provisioning", "Unallocated"], ["Unallocated", "sn_allocating", "Allocated"], ["Allocated", "sn_encoding", "Encoded"],
      ["Encoded", "commissioning", "Commissioned"], ["Commissioned", "shipping", "Released"], ["Commissioned", "inspecting", "Sampled"],
      ["Encoded", "label_inspecting", "Encoded"], ["Commissioned", "packing", "Commissioned"], ["Released", "decommissioning", "Inactive"],
      ["Sampled", "destroying", "Destroyed"], ["Inactive", "destroying", "Destroyed"], ["Allocated", "sn_deallocating", "Unallocated"],
      ["Unallocated", "sn_returning", "Unassigned"],
    ];
    for (const [from, ev, to] of fwd) assert.deepEqual(transition(from, ev), { allowed: true, to }, `${ev} from ${from}`);
    for (const s of TERMINAL_STATES) for (const e of EVENTS) assert.equal(transition(s, e).allowed, false, `${e} from terminal ${s}`);
    assert.deepEqual(TERMINAL_STATES, ["SNInvalid", "LabelSampled", "LabelScrapped", "Destroyed"]);
    for (const [from, ev] of [["Released", "shipping"], ["Inactive", "commissioning"], ["Sampled", "shipping"], ["Encoded", "packing"], ["Allocated", "commissioning"]] as const) {
      const t = transition(from, ev);
      assert.equal(t.allowed, false, `${ev} from ${from}`);
      assert.match((t as { reason: string }).reason, new RegExp(`${ev} from ${from}`));
    }
    assert.deepEqual(forwardSteps("Unassigned", "Encoded"), ["provisioning", "sn_allocating", "sn_encoding"]);
    assert.equal(forwardSteps("Commissioned", "Unallocated"), null);
  });

  it("docs/store.md shows the table as the code has it", function () {
    const doc = fs.readFileSync(path.join(REPO_ROOT, "docs", "store.md"), "utf8");
    assert.ok(doc.includes(transitionTableMarkdown()), "regenerate the table in docs/store.md from transitionTableMarkdown()");
  });

  for (const policy of ["strict", "record"] as const) {
    describe(`every cell of the state x event table against the store (${policy} policy)`, function () {
      let tmp: ReturnType<typeof tmpDir>;
      let file: string;
      let store: SqlitePoolStore;
      before(function () {
        tmp = tmpDir();
        file = path.join(tmp.dir, "cells.db");
        store = openPoolStore(file, { actor: "cells" });
        store.createPool({ poolId: policy, sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, guardPolicy: policy });
        const all = STATES.flatMap((s) => EVENTS.map((e) => sn(policy, s, e)));
        store.provision(policy, all);
        for (const s of STATES) {
          const batch = EVENTS.map((e) => sn(policy, s, e));
          for (const ev of PATH[s]) store.applyEvent(ev, { serialNumbers: batch, actor: "setup" });
        }
      });
      after(function () {
        store.close();
        tmp.cleanup();
      });

      for (const state of STATES) {
        for (const event of EVENTS) {
          const cell = TRANSITIONS[event][state];
          it(`${state} x ${event}: ${cell === undefined ? "forbidden" : cell === state ? "allowed, no change" : `→ ${cell}`}`, function () {
            const n = sn(policy, state, event);
            assert.equal(store.getSerialNumber(n)?.state, state, "the test brought the number into its state");
            const dry = store.checkEvent(event, [n]);
            const before = [...store.auditRecords({})].length;
            if (cell !== undefined) {
              assert.deepEqual(dry.allowed, [{ serialNumber: n, state, to: cell }]);
              const r = store.applyEvent(event, { serialNumbers: [n], context: { lot: "L1" } });
              assert.deepEqual(r, { returnStatus: "NoError", applied: 1, anomalies: 0 });
              assert.equal(store.getSerialNumber(n)?.state, cell);
              const recs = [...store.auditRecords({ fromSeq: before + 1 })];
              assert.equal(recs.length, 1);
              assert.deepEqual([recs[0].event, recs[0].fromState, recs[0].toState, recs[0].anomaly, recs[0].serialNumbers, recs[0].context], [event, state, cell, false, [n], { lot: "L1" }]);
              return;
            }
            assert.equal(dry.refused.length, 1);
            assert.equal(dry.refused[0].state, state);
            if (policy === "strict") {
              const digest = dbDigest(file);
              assert.throws(() => store.applyEvent(event, { serialNumbers: [n] }), (err: unknown) => {
                assert.ok(err instanceof PssError);
                assert.equal(err.code, "TransitionForbidden");
                assert.equal(err.details?.[0].serialNumber, n);
                assert.equal(err.details?.[0].state, state);
                assert.match(err.details?.[0].reason ?? "", new RegExp(`${event} from ${state}`));
                assert.ok(err.message.includes(n), "the message names the number");
                return true;
              });
              assert.equal(dbDigest(file), digest, "a refused event leaves the store exactly as before");
            } else {
              const r = store.applyEvent(event, { serialNumbers: [n] });
              assert.deepEqual(r, { returnStatus: "NoError", applied: 1, anomalies: 1 });
              const targets = new Set(Object.entries(TRANSITIONS[event]).filter(([f, t]) => f !== t).map(([, t]) => t));
              const expected = TERMINAL_STATES.includes(state) || targets.size === 0 ? state : [...targets][0];
              assert.equal(store.getSerialNumber(n)?.state, expected, TERMINAL_STATES.includes(state) ? "terminal states stay terminal under record" : "record stores the reported transition");
              const recs = [...store.auditRecords({ fromSeq: before + 1 })];
              assert.equal(recs.length, 1);
              assert.deepEqual([recs[0].event, recs[0].fromState, recs[0].toState, recs[0].anomaly], [event, state, expected, true]);
            }
          });
        }
      }

      it("the audit chain of all those cells verifies", function () {
        assert.deepEqual({ ...store.verifyAudit(), lastHash: undefined }, { ok: true, count: [...store.auditRecords()].length, lastHash: undefined });
      });
    });
  }
});

describe("POOL_FUNCTIONS: the source and target states of the eight pool functions, stated once", function () {
  it("names each method after its operation and named state (a return names its source), and agrees with the transition table", function () {
    assert.equal(POOL_FUNCTIONS.length, 8);
    const prefix = { request: "SNRequest", return: "SNReturn", push: "SNto" } as const;
    for (const f of POOL_FUNCTIONS) {
      assert.equal(f.method, `${prefix[f.operation]}${namedState(f)}`, f.method);
      assert.equal(poolFunctionFor(f.operation, namedState(f)), f);
      if (f.operation === "return") {
        const event: PssEvent = f.source[0] === "Allocated" ? "sn_deallocating" : "sn_returning";
        assert.deepEqual(transition(f.source[0], event), { allowed: true, to: f.target }, f.method);
      } else {
        for (const s of f.source) assert.ok(forwardSteps(s, f.target) !== null, `${f.method}: ${s} reaches ${f.target} along the forward path`);
      }
    }
    assert.deepEqual(
      POOL_FUNCTIONS.filter((f) => f.operation === "return").map((f) => [f.method, f.source, f.target]),
      [["SNReturnUnallocated", ["Unallocated"], "Unassigned"], ["SNReturnAllocated", ["Allocated"], "Unallocated"]],
    );
  });
});
