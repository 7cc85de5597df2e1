/* Byte-level tests of the OPEN-SCS structure codecs: against hand-written bytes, and against an independent
   interpreter of the official .bsd layout (when ../shared is present). */
import assert from "node:assert/strict";
import * as fs from "fs";
import {
  encodeLabelCollection, decodeLabelCollection, encodeAggregation, decodeAggregation, encodeSNCollection, decodeSNCollection,
  encodeKeyValue, decodeKeyValue, encodeEventStreamArgument, CodecError, LabelCollection, AggregationElement,
} from "../../nodes/core/opcua";
import { requireShared } from "../helpers/paths";

const str = (s: string): Buffer => {
  const b = Buffer.from(s, "utf8");
  const n = Buffer.alloc(4);
  n.writeInt32LE(b.length);
  return Buffer.concat([n, b]);
};
const i32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};

const SAMPLE: LabelCollection = {
  id: "LC-1",
  description: "case labels",
  state: 4,
  associatedPoolId: "pool-a",
  serialNumbers: ["SN1", "SN2"],
  labelCollection: [
    { id: "SN1", labelProperties: [{ key: "lot", value: "L42" }, { key: "expiry", value: "2027-01-31" }] },
    { id: "SN2", labelProperties: [] },
  ],
  labelCollectionProperties: [{ key: "line", value: "3" }],
};

describe("OPEN-SCS codecs (.bsd layout)", function () {
  it("lays out a LabelCollection as EncodingMask, the 5 collection fields once, labels, then the optional properties", function () {
    const expected = Buffer.concat([
      i32(1), // EncodingMask: LabelCollectionProperties present
      str("LC-1"), str("case labels"), i32(4), str("pool-a"),
      i32(2), str("SN1"), str("SN2"),
      i32(2), str("SN1"), i32(2), str("lot"), str("L42"), str("expiry"), str("2027-01-31"), str("SN2"), i32(0),
      i32(1), str("line"), str("3"),
    ]);
    assert.deepEqual(encodeLabelCollection(SAMPLE), expected);
    assert.deepEqual(decodeLabelCollection(expected), SAMPLE);
  });

  it("leaves the optional LabelCollectionProperties out entirely when absent (mask bit 0 clear)", function () {
    const lc: LabelCollection = { ...SAMPLE, labelCollectionProperties: undefined };
    delete lc.labelCollectionProperties;
    const bytes = encodeLabelCollection(lc);
    assert.equal(bytes.readUInt32LE(0), 0);
    assert.equal(bytes.length, encodeLabelCollection(SAMPLE).length - (4 + (4 + 4) + (4 + 1))); // count, "line", "3"
    assert.deepEqual(decodeLabelCollection(bytes), lc);
  });

  it("lays out an Aggregation as the parent label then the packed LabelCollection inline (no ExtensionObject header)", function () {
    const a: AggregationElement = { parentElement: { id: "SSCC1", labelProperties: [{ key: "level", value: "case" }] }, parentElementCollection: SAMPLE };
    const expected = Buffer.concat([str("SSCC1"), i32(1), str("level"), str("case"), encodeLabelCollection(SAMPLE)]);
    assert.deepEqual(encodeAggregation(a), expected);
    assert.deepEqual(decodeAggregation(expected), a);
  });

  it("encodes SNCollection as the 5 base fields, KeyValue as two strings, and null strings as length -1", function () {
    const c = { id: "C", description: "", state: 2, associatedPoolId: "p", serialNumbers: ["X"] };
    assert.deepEqual(encodeSNCollection(c), Buffer.concat([str("C"), str(""), i32(2), str("p"), i32(1), str("X")]));
    assert.deepEqual(decodeSNCollection(encodeSNCollection(c)), c);
    assert.deepEqual(decodeKeyValue(encodeKeyValue({ key: "GTIN", value: "09506000134352" })), { key: "GTIN", value: "09506000134352" });
    assert.deepEqual(decodeKeyValue(Buffer.concat([i32(-1), i32(-1)])), { key: "", value: "" });
  });

  it("refuses truncated, oversized and trailing bytes with a CodecError naming the field", function () {
    const good = encodeLabelCollection(SAMPLE);
    assert.throws(() => decodeLabelCollection(good.subarray(0, good.length - 3)), (e: unknown) => e instanceof CodecError && /LabelCollectionProperties/.test(e.message));
    assert.throws(() => decodeLabelCollection(Buffer.concat([good, Buffer.from([0])])), (e: unknown) => e instanceof CodecError && /left over/.test(e.message));
    const huge = Buffer.concat([i32(0), str("a"), str(""), i32(0), str(""), i32(0x7fffffff)]);
    assert.throws(() => decodeLabelCollection(huge), (e: unknown) => e instanceof CodecError && /SerialNumbers claims 2147483647 elements/.test(e.message));
    const badMask = Buffer.from(good);
    badMask.writeUInt32LE(0x80000001, 0);
    assert.throws(() => decodeLabelCollection(badMask), (e: unknown) => e instanceof CodecError && /reserved bits/.test(e.message));
    const badState = Buffer.concat([i32(0), str("a"), str(""), i32(12), str(""), i32(0), i32(0)]);
    assert.throws(() => decodeLabelCollection(badState), (e: unknown) => e instanceof CodecError && /State 12/.test(e.message));
  });

  it("matches bytes produced by an independent interpreter of the official Opc.Ua.OPENSCS.Types.bsd", function () {
    const bsd = fs.readFileSync(requireShared(this, "reference/openscs/Opc.Ua.OPENSCS.Types.bsd"), "utf8");
    const types = parseBsd(bsd);
    const lcValue = {
      LabelCollectionPropertiesSpecified: 1, ID: SAMPLE.id, Description: SAMPLE.description, State: SAMPLE.state, AssociatedPoolID: SAMPLE.associatedPoolId,
      SerialNumbers: SAMPLE.serialNumbers,
      LabelCollection: SAMPLE.labelCollection.map((l) => ({ ID: l.id, LabelProperties: l.labelProperties.map((kv) => ({ Key: kv.key, Value: kv.value })) })),
      LabelCollectionProperties: SAMPLE.labelCollectionProperties!.map((kv) => ({ Key: kv.key, Value: kv.value })),
    };
    assert.deepEqual(encodeLabelCollection(SAMPLE), bsdEncode(types, "OPENSCSLabelCollectionDataType", lcValue));
    const agg = { ParentElement: { ID: "P", LabelProperties: [{ Key: "k", Value: "v" }] }, ParentElementCollection: { ...lcValue, LabelCollectionPropertiesSpecified: 0 } };
    const ours = encodeAggregation({
      parentElement: { id: "P", labelProperties: [{ key: "k", value: "v" }] },
      parentElementCollection: { ...SAMPLE, labelCollectionProperties: undefined },
    });
    assert.deepEqual(ours, bsdEncode(types, "OPENSCSAggregationDataType", agg));
    const esa = { SNFormat: "SERIALONLY", ParentSNFormat: "", PackedElementSNFormat: "EPCURI", EventContext: [{ Key: "lot", Value: "L1" }] };
    assert.deepEqual(
      encodeEventStreamArgument({ snFormat: "SERIALONLY", parentSNFormat: "", packedElementSNFormat: "EPCURI", eventContext: [{ key: "lot", value: "L1" }] }),
      bsdEncode(types, "OPENSCSEventStreamArgumentDataType", esa),
    );
  });
});

// --- a small, independent .bsd interpreter (StructuredType, Bit fields, LengthField, SwitchField, enums) ---

interface BsdField { name: string; type: string; lengthField?: string; switchField?: string; length?: number }
type BsdTypes = Map<string, BsdField[] | "enum">;

function parseBsd(xml: string): BsdTypes {
  const types: BsdTypes = new Map();
  for (const m of xml.matchAll(/<opc:EnumeratedType[^>]*Name="([^"]+)"/g)) types.set(m[1], "enum");
  for (const m of xml.matchAll(/<opc:StructuredType([^>]*)>([\s\S]*?)<\/opc:StructuredType>/g)) {
    const name = /Name="([^"]+)"/.exec(m[1])![1];
    const fields: BsdField[] = [];
    for (const f of m[2].matchAll(/<opc:Field([^>]*)\/>/g)) {
      const attr = (a: string) => new RegExp(`\\b${a}="([^"]+)"`).exec(f[1])?.[1];
      fields.push({ name: attr("Name")!, type: attr("TypeName")!, lengthField: attr("LengthField"), switchField: attr("SwitchField"), length: attr("Length") ? Number(attr("Length")) : undefined });
    }
    types.set(name, fields);
  }
  return types;
}

function bsdEncode(types: BsdTypes, typeName: string, value: Record<string, unknown>): Buffer {
  const fields = types.get(typeName);
  assert.ok(Array.isArray(fields), `.bsd has no structure ${typeName}`);
  const out: Buffer[] = [];
  let bits = 0;
  let bitCount = 0;
  const flushBits = () => {
    if (bitCount > 0) {
      out.push(i32(bits));
      bits = 0;
      bitCount = 0;
    }
  };
  const one = (type: string, v: unknown): Buffer => {
    const local = type.replace(/^(opc|tns|ua):/, "");
    if (local === "CharArray") return str(v as string);
    if (local === "Int32") return i32(v as number);
    if (types.get(local) === "enum") return i32(v as number);
    return bsdEncode(types, local, v as Record<string, unknown>);
  };
  for (const f of fields) {
    if (f.type === "opc:Bit") {
      bits |= (Number(value[f.name] ?? 0) & ((1 << (f.length ?? 1)) - 1)) << bitCount;
      bitCount += f.length ?? 1;
      if (bitCount >= 32) flushBits();
      continue;
    }
    flushBits();
    if (f.switchField && !value[f.switchField]) continue;
    const lengthOf = fields.find((x) => x.lengthField === f.name);
    if (lengthOf) {
      out.push(i32((value[lengthOf.name] as unknown[]).length));
      continue;
    }
    if (f.lengthField) {
      for (const item of value[f.name] as unknown[]) out.push(one(f.type, item));
      continue;
    }
    out.push(one(f.type, value[f.name]));
  }
  flushBits();
  return Buffer.concat(out);
}
