/* Hand-written OPC UA binary codecs of OPENSCSLabelCollectionDataType and OPENSCSAggregationDataType, laid
   out as Opc.Ua.OPENSCS.Types.bsd says. Hand-written because node-opcua's client encoder drops the
   LabelCollection and LabelCollectionProperties fields of these derived structures (docs/opcua.md, "Deviations"). */

/** OPENSCSKeyValueDataType */
export interface KeyValue {
  key: string;
  value: string;
}

/** OPENSCSLabelDataType: one serial number / label and its properties */
export interface Label {
  id: string;
  labelProperties: KeyValue[];
}

/** OPENSCSLabelCollectionDataType (the 5 collection fields, then the labels and the optional properties) */
export interface LabelCollection {
  id: string;
  description: string;
  /** OPENSCSSerialNumberStateEnum value */
  state: number;
  associatedPoolId: string;
  serialNumbers: string[];
  labelCollection: Label[];
  /** absent = the optional field is not encoded (EncodingMask bit 0 clear) */
  labelCollectionProperties?: KeyValue[];
}

/** OPENSCSAggregationDataType */
export interface AggregationElement {
  parentElement: Label;
  parentElementCollection: LabelCollection;
}

/** Default Binary encoding NodeIds (in the OPEN-SCS namespace) of the structures encoded here. */
export const ENCODING_IDS = { labelCollection: 15189, aggregation: 5002, label: 5005, keyValue: 15193, snCollection: 15191, eventStreamArgument: 5008 } as const;

export class CodecError extends Error {
  readonly code = "InvalidEncoding";
  constructor(message: string) {
    super(message);
    this.name = "CodecError";
  }
}

class Writer {
  private chunks: Buffer[] = [];
  int32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32LE(v, 0);
    this.chunks.push(b);
  }
  uint32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v >>> 0, 0);
    this.chunks.push(b);
  }
  string(s: string | null | undefined): void {
    if (s === null || s === undefined) return this.int32(-1);
    const body = Buffer.from(s, "utf8");
    this.int32(body.length);
    this.chunks.push(body);
  }
  array<T>(items: T[], each: (item: T) => void): void {
    this.int32(items.length);
    for (const it of items) each(it);
  }
  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer, private readonly what: string) {}
  private need(n: number, field: string): void {
    if (this.pos + n > this.buf.length) throw new CodecError(`${this.what}: the bytes end inside ${field} (offset ${this.pos}, ${this.buf.length} bytes in all)`);
  }
  int32(field: string): number {
    this.need(4, field);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  uint32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  string(field: string): string {
    const n = this.int32(field);
    if (n === -1) return "";
    if (n < -1) throw new CodecError(`${this.what}: ${field} has a negative length ${n}`);
    this.need(n, field);
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  array<T>(field: string, each: (i: number) => T): T[] {
    const n = this.int32(`the length of ${field}`);
    if (n === -1) return [];
    if (n < -1) throw new CodecError(`${this.what}: ${field} has a negative length ${n}`);
    // every element takes at least 4 bytes: a length beyond that is garbage, refused before allocating
    if (n * 4 > this.buf.length - this.pos) throw new CodecError(`${this.what}: ${field} claims ${n} elements, more than the ${this.buf.length - this.pos} bytes left can hold`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(i));
    return out;
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new CodecError(`${this.what}: ${this.buf.length - this.pos} bytes left over after the last field`);
  }
}

function writeKeyValue(w: Writer, kv: KeyValue): void {
  w.string(kv.key);
  w.string(kv.value);
}
function readKeyValue(r: Reader, where: string): KeyValue {
  return { key: r.string(`${where}.Key`), value: r.string(`${where}.Value`) };
}
function writeLabel(w: Writer, l: Label): void {
  w.string(l.id);
  w.array(l.labelProperties ?? [], (kv) => writeKeyValue(w, kv));
}
function readLabel(r: Reader, where: string): Label {
  const id = r.string(`${where}.ID`);
  const labelProperties = r.array(`${where}.LabelProperties`, (i) => readKeyValue(r, `${where}.LabelProperties[${i}]`));
  return { id, labelProperties };
}
function writeLabelCollection(w: Writer, lc: LabelCollection): void {
  const withProps = lc.labelCollectionProperties !== undefined;
  w.uint32(withProps ? 1 : 0); // EncodingMask: bit 0 = LabelCollectionProperties present
  w.string(lc.id);
  w.string(lc.description);
  w.int32(lc.state);
  w.string(lc.associatedPoolId);
  w.array(lc.serialNumbers, (s) => w.string(s));
  w.array(lc.labelCollection, (l) => writeLabel(w, l));
  if (withProps) w.array(lc.labelCollectionProperties as KeyValue[], (kv) => writeKeyValue(w, kv));
}
function readLabelCollection(r: Reader, where: string): LabelCollection {
  const mask = r.uint32(`${where}.EncodingMask`);
  if ((mask & ~1) !== 0) throw new CodecError(`${where}: EncodingMask 0x${mask.toString(16)} sets reserved bits (only bit 0 is defined)`);
  const lc: LabelCollection = {
    id: r.string(`${where}.ID`),
    description: r.string(`${where}.Description`),
    state: r.int32(`${where}.State`),
    associatedPoolId: r.string(`${where}.AssociatedPoolID`),
    serialNumbers: r.array(`${where}.SerialNumbers`, (i) => r.string(`${where}.SerialNumbers[${i}]`)),
    labelCollection: r.array(`${where}.LabelCollection`, (i) => readLabel(r, `${where}.LabelCollection[${i}]`)),
  };
  if (lc.state < 0 || lc.state > 11) throw new CodecError(`${where}.State ${lc.state} is not an OPENSCSSerialNumberStateEnum value (0..11)`);
  if (mask & 1) lc.labelCollectionProperties = r.array(`${where}.LabelCollectionProperties`, (i) => readKeyValue(r, `${where}.LabelCollectionProperties[${i}]`));
  return lc;
}

/** The body (without ExtensionObject header) of an OPENSCSLabelCollectionDataType. */
export function encodeLabelCollection(lc: LabelCollection): Buffer {
  const w = new Writer();
  writeLabelCollection(w, lc);
  return w.done();
}
export function decodeLabelCollection(buf: Buffer): LabelCollection {
  const r = new Reader(buf, "OPENSCSLabelCollectionDataType");
  const lc = readLabelCollection(r, "LabelCollection");
  r.end();
  return lc;
}

/** The body of an OPENSCSAggregationDataType: the parent label, then the packed collection inline. */
export function encodeAggregation(a: AggregationElement): Buffer {
  const w = new Writer();
  writeLabel(w, a.parentElement);
  writeLabelCollection(w, a.parentElementCollection);
  return w.done();
}
export function decodeAggregation(buf: Buffer): AggregationElement {
  const r = new Reader(buf, "OPENSCSAggregationDataType");
  const parentElement = readLabel(r, "ParentElement");
  const parentElementCollection = readLabelCollection(r, "ParentElementCollection");
  r.end();
  return { parentElement, parentElementCollection };
}

/** OPENSCSSNCollectionDataType: exactly the 5 fields of OPENSCSCollectionDataType (no EncodingMask). */
export interface SNCollection {
  id: string;
  description: string;
  state: number;
  associatedPoolId: string;
  serialNumbers: string[];
}

export function encodeSNCollection(c: SNCollection): Buffer {
  const w = new Writer();
  w.string(c.id);
  w.string(c.description);
  w.int32(c.state);
  w.string(c.associatedPoolId);
  w.array(c.serialNumbers, (s) => w.string(s));
  return w.done();
}

export function decodeSNCollection(buf: Buffer): SNCollection {
  const r = new Reader(buf, "OPENSCSSNCollectionDataType");
  const c = {
    id: r.string("ID"),
    description: r.string("Description"),
    state: r.int32("State"),
    associatedPoolId: r.string("AssociatedPoolID"),
    serialNumbers: r.array("SerialNumbers", (i) => r.string(`SerialNumbers[${i}]`)),
  };
  r.end();
  return c;
}

export function encodeKeyValue(kv: KeyValue): Buffer {
  const w = new Writer();
  writeKeyValue(w, kv);
  return w.done();
}

export function decodeKeyValue(buf: Buffer): KeyValue {
  const r = new Reader(buf, "OPENSCSKeyValueDataType");
  const kv = readKeyValue(r, "KeyValue");
  r.end();
  return kv;
}

/** OPENSCSEventStreamArgumentDataType: the GenerateOptions of EPCISStream.GenerateFileForWrite. */
export interface EventStreamArgument {
  snFormat: string;
  parentSNFormat: string;
  packedElementSNFormat: string;
  eventContext: KeyValue[];
}

export function encodeEventStreamArgument(a: EventStreamArgument): Buffer {
  const w = new Writer();
  w.string(a.snFormat);
  w.string(a.parentSNFormat);
  w.string(a.packedElementSNFormat);
  w.array(a.eventContext, (kv) => writeKeyValue(w, kv));
  return w.done();
}
