/* A node-opcua client on loopback calls every OPEN-SCS method of our server with real arguments, over a real
   pool store; then bad input of every kind: the right status or ReturnStatus, the server stays up, the store
   is unchanged. */
import assert from "node:assert/strict";
import * as net from "net";
import Database from "better-sqlite3";
import { Variant, DataType, VariantArrayType, NodeId, AttributeIds, StatusCodes } from "node-opcua";
import { OpaqueStructure } from "node-opcua-extension-object";
import * as lifecycle from "../../nodes/core/lifecycle";
import { getSidClass } from "../../nodes/core/sid";
import { OpenScsClient, encodeLabelCollection, ENCODING_IDS } from "../../nodes/core/opcua";
import { dbDigest } from "../helpers/digest";
import { startRig, Rig, TEST_SID_CLASS } from "./fixtures";

/** Every row of every table of a pool file as text: finds a value wherever the store keeps it. */
function storedText(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    return tables.map((t) => JSON.stringify(db.prepare(`SELECT * FROM "${t.name}"`).raw(true).all(), (_k, v) => (typeof v === "bigint" ? String(v) : v))).join("\n");
  } finally {
    db.close();
  }
}

describe("OPEN-SCS server: every method over a real store", function () {
  let rig: Rig;
  let c: OpenScsClient;

  before(async function () {
    rig = await startRig({ provision: 2_000, pool: { maxRequest: 100 } });
    c = await rig.connect("admin", "admin-pw");
  });
  after(async function () {
    await rig?.stop();
  });

  const state = (sn: string) => rig.store.getSerialNumber(sn)?.state;

  it("publishes the managers' properties: Max* limits, SNFormat with SERIALONLY, PoolSelectionCriteria, the SID class", async function () {
    const l = await c.limits();
    assert.equal(l.maxSNRequestable, 100, "a response never holds more than the pool's page");
    assert.equal(l.maxSNPushable, rig.server.limits.maxSNPushable);
    assert.ok(l.maxEvents > 0 && l.maxAggregationEvents > 0 && l.maxSNReturnable > 0);
    const read = async (nodeId: NodeId, name: string) => {
      const refs = (await c.session.browse({ nodeId, resultMask: 63 })).references ?? [];
      const ref = refs.find((r) => r.browseName.name === name);
      assert.ok(ref, `${name} not found`);
      return (await c.session.read({ nodeId: ref.nodeId, attributeId: AttributeIds.Value })).value.value;
    };
    assert.ok((await read(rig.server.nodes.poolManager, "SNFormat") as string[]).includes("SERIALONLY"));
    const criteria = (await read(rig.server.nodes.poolManager, "PoolSelectionCriteria") as Array<{ key: string; value: string }>).map((kv) => `${kv.key}=${kv.value}`);
    assert.deepEqual(criteria.sort(), ["GTIN=09506000134352", "PoolID=default"]);
    const pushable = ((await c.session.browse({ nodeId: rig.server.nodes.eventManager, resultMask: 63 })).references ?? []).find((r) => r.browseName.name === "MaxEPCISObjectEventSIDs")!;
    const w = await c.session.write({ nodeId: pushable.nodeId, attributeId: AttributeIds.Value, value: { value: new Variant({ dataType: DataType.UInt32, value: 1 }) } });
    assert.notEqual(w.value, StatusCodes.Good.value, "a client cannot change the server's limits");
    assert.equal(rig.server.nodes.sidClasses.length, 1);
    assert.equal(await read(rig.server.nodes.sidClasses[0], "SIDClassID"), TEST_SID_CLASS);
    const described = getSidClass(TEST_SID_CLASS);
    assert.equal(await read(rig.server.nodes.sidClasses[0], "SIDClassOwner"), described.sidClassOwner);
    assert.equal(await read(rig.server.nodes.sidClasses[0], "SyntaxSpecification"), described.syntaxSpecification);
    assert.equal(await read(rig.server.nodes.sidClasses[0], "AllowedCharacterSet"), described.allowedCharacterSet);
  });

  it("SNRequestUnassigned / Unallocated / Allocated hand out numbers in the requested state, never twice", async function () {
    const seen = new Set<string>();
    for (const target of ["Unassigned", "Unallocated", "Allocated"] as const) {
      const r = await c.snRequest(target, { count: 5, poolSelectionCriteria: { GTIN: "09506000134352" } });
      assert.equal(r.returnStatus, "NoError");
      assert.equal(r.snCollection.state, target);
      assert.equal(r.snCollection.serialNumbers.length, 5);
      assert.equal(r.returnedRequestToken, "");
      for (const sn of r.snCollection.serialNumbers) {
        assert.ok(!seen.has(sn), `${sn} handed out twice`);
        seen.add(sn);
        assert.equal(state(sn), target);
      }
    }
  });

  it("pages a request larger than MaxSNRequestable by request token (requestAll), with no duplicates", async function () {
    const pages: number[] = [];
    const tokens: string[] = [];
    const all = await c.requestAll("Allocated", { count: 250 }, (p) => {
      pages.push(p.snCollection.serialNumbers.length);
      tokens.push(p.returnedRequestToken);
    });
    assert.equal(all.returnStatus, "NoError");
    assert.deepEqual(pages, [100, 100, 50]);
    assert.equal(new Set(all.serialNumbers).size, 250);
    assert.ok(all.serialNumbers.every((sn) => state(sn) === "Allocated"));
    // a token already used is stale: refused, nothing handed out again
    const stale = await c.snRequest("Allocated", { count: 250, requestToken: tokens[0] });
    assert.equal(stale.returnStatus, "InvalidRequestToken");
    assert.deepEqual(stale.snCollection.serialNumbers, []);
  });

  it("SNReturnAllocated and SNReturnUnallocated give numbers back to the collection they came from", async function () {
    const alloc = await c.snRequest("Allocated", { count: 3 });
    const r1 = await c.snReturn("Allocated", { snCollection: { id: alloc.snCollection.id, serialNumbers: alloc.snCollection.serialNumbers.slice(0, 2) } });
    assert.equal(r1.returnStatus, "NoError");
    const unalloc = await c.snRequest("Unallocated", { count: 2 });
    const r2 = await c.snReturn("Unallocated", { snCollection: { id: unalloc.snCollection.id, serialNumbers: unalloc.snCollection.serialNumbers } });
    assert.equal(r2.returnStatus, "NoError");
    for (const sn of [...alloc.snCollection.serialNumbers.slice(0, 2), ...unalloc.snCollection.serialNumbers]) assert.notEqual(state(sn), undefined);
    assert.notEqual(state(alloc.snCollection.serialNumbers[0]), "Allocated");
  });

  it("SNtoUnallocated / SNtoAllocated / SNtoEncoded take unsolicited numbers into those states", async function () {
    for (const [target, sns] of [["Unallocated", ["PU-1", "PU-2"]], ["Allocated", ["PA-1"]], ["Encoded", ["PE-1", "PE-2"]]] as const) {
      const r = await c.snTo(target, { snCollection: { id: `push-${target}`, serialNumbers: [...sns] } });
      assert.equal(r.returnStatus, "NoError", target);
      for (const sn of sns) assert.equal(state(sn), target);
    }
  });

  it("the nine Labels*/SID* events and SNInvalidatingEvent move numbers as the transition table says, label properties kept", async function () {
    const sns = (await c.snRequest("Allocated", { count: 12 })).snCollection.serialNumbers;
    const expectAfter = (sn: string, before: string, event: string) => {
      const t = lifecycle.transition(before as lifecycle.SerialNumberState, event as lifecycle.PssEvent);
      assert.ok(t.allowed, `${event} from ${before} is allowed by the table`);
      assert.equal(state(sn), t.to, `${sn} after ${event}`);
    };
    const enc = await c.event("LabelsEncodingEvent", {
      labelCollection: { id: "LC-enc", serialNumbers: sns, labels: sns.map((id) => ({ id, properties: { lot: "LOT-4711", expiry: "2027-01-31" } })), properties: { line: "L3" } },
      context: { order: "PO-1" },
    });
    assert.equal(enc.returnStatus, "NoError");
    for (const sn of sns) expectAfter(sn, "Allocated", "sn_encoding");
    const stored = JSON.stringify(rig.store.getSerialNumber(sns[0])) + JSON.stringify([...rig.store.auditRecords({})]);
    assert.ok(stored.includes("LOT-4711"), "the label properties reached the store");
    const step = async (method: Parameters<OpenScsClient["event"]>[0], event: string, list: string[]) => {
      const before = list.map(state) as string[];
      const r = await c.event(method, { labelCollection: { serialNumbers: list } });
      assert.equal(r.returnStatus, "NoError", method);
      list.forEach((sn, i) => expectAfter(sn, before[i], event));
    };
    // a generic node-opcua client building the structure from the server's DataTypeDefinition (no SerialFlow codec)
    const ns = c.namespaceIndex;
    const generic = await c.session.constructExtensionObject(new NodeId(NodeId.NodeIdType.NUMERIC, 15006, ns), {
      ID: "LC-generic", description: "", state: 4, associatedPoolID: "default", serialNumbers: sns.slice(0, 8),
      labelCollection: sns.slice(0, 8).map((id) => ({ ID: id, labelProperties: [{ key: "inspector", value: "CAM-7" }] })),
      labelCollectionProperties: [{ key: "station", value: "ST-2" }],
    });
    const viaGeneric = await c.session.call({
      ...(await c.resolveMethod("event", "LabelsInspectingEvent")),
      inputArguments: [new Variant({ dataType: DataType.ExtensionObject, value: generic }), new Variant({ dataType: DataType.String, value: "SERIALONLY" }), new Variant({ dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: [] })],
    });
    assert.equal(viaGeneric.statusCode.name, "Good");
    assert.equal(viaGeneric.outputArguments![0].value, 1, "NoError1");
    assert.equal(rig.store.getSerialNumber(sns[0])?.properties?.inspector, "CAM-7", "label properties sent by a generic client arrive");
    assert.equal(rig.store.getSerialNumber(sns[0])?.labelCollectionId, "LC-generic");
    assert.ok(storedText(rig.file).includes("ST-2"), "the optional LabelCollectionProperties arrive too");
    await step("LabelsInspectingEvent", "label_inspecting", sns.slice(0, 8));
    await step("LabelsSamplingEvent", "label_sampling", [sns[8]]);
    await step("LabelsScrappingEvent", "label_scrapping", [sns[9]]);
    await step("SIDCommissioningEvent", "commissioning", sns.slice(0, 8));
    await step("SIDShippingEvent", "shipping", sns.slice(0, 2));
    await step("SIDInspectingEvent", "inspecting", sns.slice(2, 4));
    await step("SIDDecommissioningEvent", "decommissioning", [sns[6]]);
    await step("SIDDestroyingEvent", "destroying", [sns[7]]);
    const inv = (await c.snRequest("Allocated", { count: 2 })).snCollection.serialNumbers;
    assert.equal((await c.snInvalidating({ snCollection: { serialNumbers: inv } })).returnStatus, "NoError");
    inv.forEach((sn) => expectAfter(sn, "Allocated", "sn_invalidating"));
  });

  it("AggregationPackingEvent and AggregationUnpackingEvent record parent and children with label properties", async function () {
    const sns = (await c.snRequest("Allocated", { count: 4 })).snCollection.serialNumbers;
    assert.equal((await c.event("LabelsEncodingEvent", { labelCollection: { serialNumbers: sns } })).returnStatus, "NoError");
    assert.equal((await c.event("SIDCommissioningEvent", { labelCollection: { serialNumbers: sns } })).returnStatus, "NoError");
    const [parent, ...children] = sns;
    const pack = await c.aggregation("packing", {
      elements: [{ parent, parentProperties: { level: "CASE-LEVEL-3" }, children: { id: "case-1", serialNumbers: children, labels: children.map((id) => ({ id, properties: { lot: "LOT-9" } })) } }],
      context: { order: "PO-2" },
    });
    assert.equal(pack.returnStatus, "NoError");
    const audit = JSON.stringify([...rig.store.auditRecords({})]);
    assert.ok(audit.includes("CASE-LEVEL-3") && audit.includes(parent), "packing is audited with the parent and its properties");
    const unpack = await c.aggregation("unpacking", { elements: [{ parent, children: { serialNumbers: children.slice(0, 1) } }] });
    assert.equal(unpack.returnStatus, "NoError");
  });

  it("EPCISStream: a document written through GenerateFileForWrite, Write, CloseAndCommit is kept and applied; again, it changes nothing; GenerateFileForRead fails", async function () {
    const sgtin = (s: string) => `urn:epc:id:sgtin:9506000.013435.${s}`; // GTIN 09506000134352
    const epcisDoc = (events: Array<Record<string, unknown>>) => Buffer.from(JSON.stringify({
      "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], type: "EPCISDocument", schemaVersion: "2.0", creationDate: "2026-01-05T08:00:00.000Z",
      epcisBody: { eventList: events },
    }, null, 2) + " ".repeat(1500)); // several Write chunks of 1000 bytes
    const commission = { type: "ObjectEvent", eventTime: "2026-01-05T08:00:00.000Z", eventTimeZoneOffset: "+00:00", epcList: [sgtin("EPCIS-1"), sgtin("EPCIS-2")], action: "ADD", bizStep: "commissioning", disposition: "active" };
    const doc = epcisDoc([commission]);
    await c.uploadEpcis(doc, { context: { lot: "L1" } }, 1000);
    // acknowledged means durable and applied: the document is in the pool file, read here over a connection of its own
    const inbox = () => {
      const db = new Database(rig.file, { readonly: true });
      try {
        return db.prepare("SELECT options, document FROM epcis_inbox").all() as Array<{ options: string; document: Buffer }>;
      } finally {
        db.close();
      }
    };
    const rows = inbox();
    assert.equal(rows.length, 1);
    assert.ok(Buffer.compare(rows[0].document, doc) === 0, "the document is kept byte for byte");
    assert.match(rows[0].options, /L1/);
    assert.equal(state("EPCIS-1"), "Commissioned");
    assert.equal(state("EPCIS-2"), "Commissioned");
    const digest = dbDigest(rig.file);
    await c.uploadEpcis(doc, {}, 1000);
    assert.equal(dbDigest(rig.file), digest, "the same document received again changed the pool file");
    // an event the pool refuses: the call fails with Bad_InvalidState, nothing kept, nothing applied
    const ship = { ...commission, eventTime: "2026-01-05T09:00:00.000Z", epcList: [sgtin("EPCIS-1"), sgtin("EPCIS-404")], action: "OBSERVE", bizStep: "shipping", disposition: "in_transit" };
    await assert.rejects(c.uploadEpcis(epcisDoc([ship]), {}, 1000), /BadInvalidState/);
    // a malformed document: Bad_InvalidArgument
    await assert.rejects(c.uploadEpcis(epcisDoc([{ ...commission, bizStep: "comissioning" }]), {}, 1000), /BadInvalidArgument/);
    await assert.rejects(c.uploadEpcis(Buffer.from('<?xml version="1.0"?><epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"/>'), {}, 1000), /BadInvalidArgument/);
    assert.equal(dbDigest(rig.file), digest);
    assert.equal(state("EPCIS-1"), "Commissioned");
    const stream = ((await c.session.browse({ nodeId: rig.server.nodes.eventManager, resultMask: 63 })).references ?? []).find((r) => r.browseName.name === "EPCISStream")!;
    const read = ((await c.session.browse({ nodeId: stream.nodeId, resultMask: 63 })).references ?? []).find((r) => r.browseName.name === "GenerateFileForRead")!;
    const r = await c.session.call({ objectId: stream.nodeId, methodId: read.nodeId, inputArguments: [new Variant({ dataType: DataType.String, value: "" })] });
    assert.notEqual(r.statusCode.value, StatusCodes.Good.value);
  });
});

describe("OPEN-SCS server: bad input leaves the store unchanged and the server up", function () {
  let rig: Rig;
  let c: OpenScsClient;
  let digest: string;

  before(async function () {
    rig = await startRig({ provision: 50, server: { limits: { maxSNPushable: 10, maxEvents: 10, maxAggregationEvents: 2 } } });
    c = await rig.connect("admin", "admin-pw");
    await c.snTo("Allocated", { snCollection: { id: "seed", serialNumbers: ["A-1", "A-2"] } });
    await c.snTo("Encoded", { snCollection: { id: "seed-encoded", serialNumbers: ["C-1"] } });
    assert.equal((await c.event("SIDCommissioningEvent", { labelCollection: { serialNumbers: ["C-1"] } })).returnStatus, "NoError");
  });
  beforeEach(function () {
    digest = dbDigest(rig.file);
  });
  afterEach(function () {
    assert.equal(dbDigest(rig.file), digest, "the store changed");
  });
  after(async function () {
    await rig?.stop();
  });

  const raw = async (manager: "pool" | "event" | "aggregation", name: string, inputArguments: Variant[]) => {
    const ids = await c.resolveMethod(manager, name);
    return c.session.call({ ...ids, inputArguments });
  };
  const s = (value: string) => new Variant({ dataType: DataType.String, value });
  const noKv = () => new Variant({ dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: [] });

  it("wrong argument types get Bad_InvalidArgument (or the stack's type mismatch), wrong counts Bad_ArgumentsMissing / Bad_TooManyArguments", async function () {
    const wrongType = await raw("pool", "SNRequestAllocated", [s(""), new Variant({ dataType: DataType.Int32, value: 5 }), s("SERIALONLY"), noKv(), s("")]);
    assert.ok([StatusCodes.BadInvalidArgument.value, StatusCodes.BadTypeMismatch.value].includes(wrongType.statusCode.value), wrongType.statusCode.name);
    const missing = await raw("pool", "SNRequestAllocated", [s(""), new Variant({ dataType: DataType.UInt32, value: 5 })]);
    assert.equal(missing.statusCode.name, "BadArgumentsMissing");
    const tooMany = await raw("pool", "SNRequestAllocated", [s(""), new Variant({ dataType: DataType.UInt32, value: 5 }), s(""), noKv(), s(""), s("extra")]);
    assert.equal(tooMany.statusCode.name, "BadTooManyArguments");
    const zero = await raw("pool", "SNRequestAllocated", [s(""), new Variant({ dataType: DataType.UInt32, value: 0 }), s(""), noKv(), s("")]);
    assert.equal(zero.statusCode.name, "BadOutOfRange");
  });

  it("refuses batches beyond MaxSNPushable, MaxEvents and MaxAggregationEvents with Bad_OutOfRange", async function () {
    const many = Array.from({ length: 11 }, (_, i) => `X-${i}`);
    await assert.rejects(c.snTo("Unallocated", { snCollection: { serialNumbers: many } }), /BadOutOfRange/);
    await assert.rejects(c.event("SIDCommissioningEvent", { labelCollection: { serialNumbers: many } }), /BadOutOfRange/);
    const el = { parent: "A-1", children: { serialNumbers: ["A-2"] } };
    await assert.rejects(c.aggregation("packing", { elements: [el, el, el] }), /BadOutOfRange/);
  });

  it("unknown collection, format, criteria and stale tokens come back as ReturnStatus with call status Good", async function () {
    assert.equal((await c.snRequest("Allocated", { count: 1, snFormat: "NO-SUCH-FORMAT" })).returnStatus, "InvalidSerialNumbersFormat");
    assert.equal((await c.snRequest("Allocated", { count: 1, poolSelectionCriteria: { GTIN: "00000000000000" } })).returnStatus, "InvalidSelectionCriteria");
    assert.equal((await c.snRequest("Allocated", { count: 1, requestToken: "stale-or-forged-token" })).returnStatus, "InvalidRequestToken");
    assert.equal((await c.snReturn("Allocated", { snCollection: { id: "no-such-collection", serialNumbers: ["A-1"] } })).returnStatus, "InvalidSerialNumberCollection");
    assert.equal((await c.snTo("Encoded", { snCollection: { serialNumbers: ["A-1"] }, snFormat: "NOPE" })).returnStatus, "InvalidSerialNumbersFormat");
    assert.equal((await c.event("SIDShippingEvent", { labelCollection: { serialNumbers: ["A-1"] } })).returnStatus, "UnableToAcceptSIDEvents");
    assert.equal((await c.event("LabelsScrappingEvent", { labelCollection: { serialNumbers: ["UNKNOWN-9"] } })).returnStatus, "UnableToAcceptLabelEvents");
    assert.equal((await c.aggregation("packing", { elements: [{ parent: "NO-SUCH-PARENT", children: { serialNumbers: ["C-1"] } }] })).returnStatus, "UnknownAggregationSID");
  });

  const refusedArg = (code: string) => ["BadInvalidArgument", "BadTypeMismatch"].includes(code);

  it("garbage structure bytes get Bad_InvalidArgument (or Bad_TypeMismatch when node-opcua's decoder gives up first)", async function () {
    const junk = new OpaqueStructure(new NodeId(NodeId.NodeIdType.NUMERIC, ENCODING_IDS.labelCollection, c.namespaceIndex), Buffer.from("definitely not a label collection"));
    const r = await raw("event", "LabelsEncodingEvent", [new Variant({ dataType: DataType.ExtensionObject, value: junk }), s("SERIALONLY"), noKv()]);
    assert.ok(refusedArg(r.statusCode.name), r.statusCode.name);
    const truncated = encodeLabelCollection({ id: "x", description: "", state: 0, associatedPoolId: "", serialNumbers: ["A-1"], labelCollection: [] }).subarray(0, 10);
    const r2 = await raw("event", "LabelsEncodingEvent", [new Variant({ dataType: DataType.ExtensionObject, value: new OpaqueStructure(junk.nodeId, truncated) }), s(""), noKv()]);
    assert.ok(refusedArg(r2.statusCode.name), r2.statusCode.name);
    const wrongStruct = await raw("pool", "SNtoEncoded", [noKv(), noKv(), s("")]);
    assert.ok(refusedArg(wrongStruct.statusCode.name), wrongStruct.statusCode.name);
  });

  it("garbage on the TCP port and a client vanishing mid-call leave the server serving", async function () {
    await new Promise<void>((resolve) => {
      const sock = net.connect(rig.server.port, "127.0.0.1", () => {
        sock.write(Buffer.concat([Buffer.from("HELF"), Buffer.alloc(4, 0xff), Buffer.alloc(2000, 0x41)]));
      });
      sock.on("error", () => resolve());
      sock.on("close", () => resolve());
      setTimeout(() => sock.destroy(), 500);
    });
    const other = await rig.connect("admin", "admin-pw");
    // a forged token changes nothing; the call is abandoned as the client goes away
    const pending = other.snRequest("Allocated", { count: 1, requestToken: "gone" }).catch(() => undefined);
    await other.client.disconnect();
    await pending;
    assert.equal((await c.limits()).maxSNPushable, 10);
    assert.equal((await c.snRequest("Allocated", { count: 1, snFormat: "NOPE" })).returnStatus, "InvalidSerialNumbersFormat");
  });
});
