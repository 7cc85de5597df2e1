/* Our own definition of the OPEN-SCS information model (OPC 30260, namespace OPENSCS-SER 1.00), written
   from the facts of the spec: the official numeric NodeIds, names, argument lists, fields and enum values.
   The server generates its NodeSet2 document from this data (see nodeset.ts); the conformance test checks
   it against the official file, which stays outside the repository. */

export const NAMESPACE_URI = "http://opcfoundation.org/UA/OPENSCS-SER/";
/** the URI of the first upload of the nodeset and of parts of the spec text: a client may fall back to it */
export const LEGACY_NAMESPACE_URI = "http://opcfoundation.org/OPENSCS-SER/";
export const MODEL_VERSION = "1.00";
export const MODEL_PUBLICATION_DATE = "2019-02-04T00:00:00Z";

/** Built-in (namespace 0) DataTypes used by the model, by name. */
export const NS0_DATATYPES: Record<string, number> = {
  Boolean: 1,
  Int32: 6,
  UInt32: 7,
  String: 12,
  NodeId: 17,
  BaseDataType: 24,
  Structure: 22,
  Enumeration: 29,
  Duration: 290,
};

/** A field of a structure or an argument of a method. `dataType` is a name: a key of NS0_DATATYPES or an OPEN-SCS DataType. */
export interface FieldDef {
  name: string;
  dataType: string;
  array?: boolean;
  optional?: boolean;
  description?: string;
}

export interface EnumDef {
  kind: "enum";
  name: string;
  nodeId: number;
  enumValuesId: number;
  description?: string;
  values: Array<{ name: string; value: number; description: string }>;
}

export interface StructDef {
  kind: "struct";
  name: string;
  nodeId: number;
  /** "Structure" or the name of an OPEN-SCS structure */
  supertype: string;
  isAbstract?: boolean;
  /** the fields this type declares itself, in encoding order (inherited ones come first on the wire) */
  fields: FieldDef[];
  /** Default Binary, Default XML, Default JSON encoding object NodeIds */
  encodings: { binary: number; xml: number; json: number };
  description?: string;
}

export type DataTypeDef = EnumDef | StructDef;

export interface PropertyDef {
  name: string;
  nodeId: number;
  dataType: string;
  array?: boolean;
  optional?: boolean;
  /** AccessLevel attribute; 1 (CurrentRead) when absent */
  accessLevel?: number;
  description?: string;
}

export interface MethodDef {
  name: string;
  nodeId: number;
  inputArgumentsId: number;
  outputArgumentsId: number;
  inputs: FieldDef[];
  outputs: FieldDef[];
  optional?: boolean;
  /** BrowseName in namespace 0 (standard methods of TemporaryFileTransferType) rather than OPEN-SCS */
  ns0?: boolean;
  /** the standard method this one instantiates */
  methodDeclarationId?: number;
}

export interface ComponentObjectDef {
  name: string;
  nodeId: number;
  /** namespace-0 ObjectType NodeId */
  typeDefinition: number;
  optional?: boolean;
  properties: PropertyDef[];
  methods: MethodDef[];
}

export interface ObjectTypeDef {
  name: string;
  nodeId: number;
  description?: string;
  properties: PropertyDef[];
  methods: MethodDef[];
  objects: ComponentObjectDef[];
}

// ---------------------------------------------------------------------------------------------------
// Enumerations: every name carries its value as a suffix, as the spec writes them.

const RETURN_VALUES: Array<[string, string]> = [
  ["Undefined0", "Undefined value; never returned."],
  ["NoError1", "The call succeeded."],
  ["InvalidSerialNumberCollection2", "The serial number collection is not known."],
  ["InsufficientSerialNumbers3", "Fewer serial numbers were available than asked for; those available are returned."],
  ["InvalidSerialNumbersFormat4", "The serial number format is not supported."],
  ["InvalidRequestToken5", "The request token is not recognised."],
  ["InvalidSelectionCriteria6", "The pool selection criteria are not recognised."],
  ["UnableToAcceptSerialNumberEvents7", "The server does not accept serial number events."],
  ["UnableToAcceptLabelEvents8", "The server does not accept label events."],
  ["UnableToAcceptSIDEvents9", "The server does not accept SID events."],
  ["UnknownAggregationSID10", "The parent SID of a packing or unpacking event is not known."],
  ["InsufficientPrivilegeToExecute11", "The caller may not execute this method."],
];

const STATE_VALUES: Array<[string, string]> = [
  ["Unassigned0", "Not yet given to production."],
  ["Unallocated1", "Given to production, not yet tied to a packaging run."],
  ["Allocated2", "Tied to a packaging run."],
  ["SNInvalid3", "No longer valid."],
  ["Encoded4", "Printed or written to a carrier, not commissioned."],
  ["LabelSampled5", "A printed label kept as a sample."],
  ["LabelScrapped6", "An encoded label destroyed before use."],
  ["Commissioned7", "On a physical item under production's responsibility."],
  ["Sampled8", "An item taken as a sample."],
  ["Inactive9", "An item no longer active."],
  ["Destroyed10", "An item made unusable."],
  ["Released11", "An item that left production's responsibility."],
];

const JOB_COMMAND_VALUES: Array<[string, string]> = [
  ["Undefined_0", "Undefined value."],
  ["Store_1", "Store the job order without starting it."],
  ["StoreAndStart_2", "Store the job order and start it when ready."],
  ["Start_3", "Start a stored job order."],
  ["Update_4", "Replace a stored job order that has not started."],
  ["Stop_5", "Stop a started job order."],
  ["Cancel_6", "Cancel a job order that has not started."],
  ["Clear_7", "Clear a finished job order."],
];

const JOB_STATE_VALUES: Array<[string, string]> = [
  ["Undefined_0", "Undefined value."],
  ["Waiting_1", "Waiting."],
  ["Ready_2", "Ready."],
  ["Loaded_3", "Loaded."],
  ["Running_4", "Running."],
  ["Completed_5", "Completed."],
  ["Aborted_6", "Aborted."],
  ["Held_7", "Held."],
  ["Suspended_8", "Suspended."],
  ["Closed_9", "Closed."],
];

function enumValues(list: Array<[string, string]>): EnumDef["values"] {
  return list.map(([name, description], value) => ({ name, value, description }));
}

// ---------------------------------------------------------------------------------------------------
// DataTypes

const COLLECTION_FIELDS: FieldDef[] = [
  { name: "ID", dataType: "String", description: "Identifier of the collection." },
  { name: "Description", dataType: "String", description: "Free text about the collection." },
  { name: "State", dataType: "OPENSCSSerialNumberStateEnum", description: "State of every serial number in the collection." },
  { name: "AssociatedPoolID", dataType: "String", description: "The pool the serial numbers belong to." },
  { name: "SerialNumbers", dataType: "String", array: true, description: "The serial numbers." },
];

const LABEL_COLLECTION_OWN_FIELDS: FieldDef[] = [
  { name: "LabelCollection", dataType: "OPENSCSLabelDataType", array: true, description: "The labels, one per serial number." },
  { name: "LabelCollectionProperties", dataType: "OPENSCSKeyValueDataType", array: true, optional: true, description: "Key/value properties valid for the whole collection." },
];

export const DATA_TYPES: DataTypeDef[] = [
  { kind: "enum", name: "OPENSCSReturnEnum", nodeId: 15001, enumValuesId: 6008, description: "Application result of every OPEN-SCS method.", values: enumValues(RETURN_VALUES) },
  { kind: "enum", name: "OPENSCSSerialNumberStateEnum", nodeId: 15143, enumValuesId: 6022, description: "The serial number lifecycle states.", values: enumValues(STATE_VALUES) },
  { kind: "enum", name: "JobOrderCommandEnum", nodeId: 3006, enumValuesId: 6015, description: "Job order commands.", values: enumValues(JOB_COMMAND_VALUES) },
  { kind: "enum", name: "JobOrderStateEnum", nodeId: 3009, enumValuesId: 6020, description: "Job order states.", values: enumValues(JOB_STATE_VALUES) },
  {
    kind: "struct", name: "OPENSCSKeyValueDataType", nodeId: 15010, supertype: "Structure",
    encodings: { binary: 15193, xml: 15221, json: 15249 },
    fields: [{ name: "Key", dataType: "String" }, { name: "Value", dataType: "String" }],
  },
  {
    kind: "struct", name: "OPENSCSLabelDataType", nodeId: 3003, supertype: "Structure",
    encodings: { binary: 5005, xml: 5006, json: 5007 }, description: "One serial number and label with its properties.",
    fields: [{ name: "ID", dataType: "String" }, { name: "LabelProperties", dataType: "OPENSCSKeyValueDataType", array: true }],
  },
  {
    kind: "struct", name: "OPENSCSCollectionDataType", nodeId: 15005, supertype: "Structure", isAbstract: true,
    encodings: { binary: 15188, xml: 15216, json: 15244 }, fields: COLLECTION_FIELDS,
  },
  {
    kind: "struct", name: "OPENSCSSNCollectionDataType", nodeId: 15008, supertype: "OPENSCSCollectionDataType",
    encodings: { binary: 15191, xml: 15219, json: 15247 }, fields: [],
  },
  {
    // Deliberate deviation (docs/opcua.md, README "OPC UA: deviations from the official nodeset"): a direct subtype of Structure declaring all 7 fields,
    // because node-opcua writes the inherited fields twice when the supertype is OPENSCSCollectionDataType.
    kind: "struct", name: "OPENSCSLabelCollectionDataType", nodeId: 15006, supertype: "Structure",
    encodings: { binary: 15189, xml: 15217, json: 15245 }, fields: [...COLLECTION_FIELDS, ...LABEL_COLLECTION_OWN_FIELDS],
  },
  {
    kind: "struct", name: "OPENSCSAggregationDataType", nodeId: 3002, supertype: "Structure",
    encodings: { binary: 5002, xml: 5003, json: 5004 }, description: "A parent element and the collection packed into or out of it.",
    fields: [
      { name: "ParentElement", dataType: "OPENSCSLabelDataType" },
      { name: "ParentElementCollection", dataType: "OPENSCSLabelCollectionDataType" },
    ],
  },
  {
    kind: "struct", name: "OPENSCSLabelPropertyDataType", nodeId: 15007, supertype: "Structure",
    encodings: { binary: 15190, xml: 15218, json: 15246 },
    fields: [{ name: "PropertyID", dataType: "String" }, { name: "PropertyDescription", dataType: "String" }, { name: "PropertyValue", dataType: "String" }],
  },
  {
    kind: "struct", name: "OPENSCSSIDClassPropertyDataType", nodeId: 15009, supertype: "Structure",
    encodings: { binary: 15192, xml: 15220, json: 15248 },
    fields: [
      { name: "PropertyID", dataType: "String" },
      { name: "PropertyDescription", dataType: "String" },
      { name: "PropertyValue", dataType: "String" },
      { name: "LabelProperty", dataType: "OPENSCSLabelPropertyDataType", array: true },
    ],
  },
  {
    kind: "struct", name: "OPENSCSEventStreamArgumentDataType", nodeId: 3005, supertype: "Structure",
    encodings: { binary: 5008, xml: 5009, json: 5010 }, description: "GenerateOptions of EPCISStream.GenerateFileForWrite.",
    fields: [
      { name: "SNFormat", dataType: "String" },
      { name: "ParentSNFormat", dataType: "String" },
      { name: "PackedElementSNFormat", dataType: "String" },
      { name: "EventContext", dataType: "OPENSCSKeyValueDataType", array: true },
    ],
  },
];

export function dataTypeByName(name: string): DataTypeDef | undefined {
  return DATA_TYPES.find((d) => d.name === name);
}

/** The fields of a structure as they go on the wire: inherited ones first. */
export function effectiveFields(name: string): FieldDef[] {
  const d = dataTypeByName(name);
  if (!d || d.kind !== "struct") throw new Error(`${name} is not an OPEN-SCS structure`);
  const base = d.supertype === "Structure" ? [] : effectiveFields(d.supertype);
  return [...base, ...d.fields];
}

// ---------------------------------------------------------------------------------------------------
// Method signatures

const RETURN_STATUS: FieldDef = { name: "ReturnStatus", dataType: "OPENSCSReturnEnum", description: "Application result of the call." };
const KEY_VALUES = (name: string, description: string): FieldDef => ({ name, dataType: "OPENSCSKeyValueDataType", array: true, description });

const REQUEST_INPUTS: FieldDef[] = [
  { name: "SNCollectionID", dataType: "String", description: "The serial number collection to draw from; empty selects the default." },
  { name: "Count", dataType: "UInt32", description: "How many serial numbers are wanted." },
  { name: "SNFormat", dataType: "String", description: "The wanted serial number format." },
  KEY_VALUES("PoolSelectionCriteria", "Selects the pool; empty selects the default pool."),
  { name: "RequestToken", dataType: "String", description: "Empty on the first call, then the token returned by the previous call." },
];
const REQUEST_OUTPUTS: FieldDef[] = [
  RETURN_STATUS,
  { name: "SNCollection", dataType: "OPENSCSSNCollectionDataType", description: "The serial numbers handed out." },
  { name: "ReturnedRequestToken", dataType: "String", description: "Non-empty when more serial numbers wait: call again with it." },
];
const COLLECTION_INPUTS: FieldDef[] = [
  { name: "SNCollection", dataType: "OPENSCSSNCollectionDataType", description: "The serial numbers." },
  KEY_VALUES("PoolSelectionCriteria", "Selects the pool; empty selects the default pool."),
  { name: "SNFormat", dataType: "String", description: "The format of the serial numbers sent." },
];
const LABEL_EVENT_INPUTS: FieldDef[] = [
  { name: "LabelCollection", dataType: "OPENSCSLabelCollectionDataType", description: "The serial numbers and labels concerned." },
  { name: "SNFormat", dataType: "String", description: "The format of the serial numbers sent." },
  KEY_VALUES("OPENSCSEventContext", "Context of the event, such as order or lot."),
];
const SN_INVALIDATING_INPUTS: FieldDef[] = [
  { name: "SNCollection", dataType: "OPENSCSSNCollectionDataType", description: "The serial numbers to invalidate." },
  { name: "SNFormat", dataType: "String", description: "The format of the serial numbers sent." },
  KEY_VALUES("OPENSCSEventContext", "Context of the event, such as order or lot."),
];
const AGGREGATION_INPUTS: FieldDef[] = [
  { name: "AggregationElement", dataType: "OPENSCSAggregationDataType", array: true, description: "One entry per parent with its packed elements." },
  { name: "ParentSNFormat", dataType: "String", description: "The format of the parent serial numbers." },
  { name: "PackedElementSNFormat", dataType: "String", description: "The format of the packed serial numbers." },
  KEY_VALUES("AggregationContext", "Context of the event, such as order or lot."),
];

function method(name: string, nodeId: number, inputs: FieldDef[], outputs: FieldDef[], extra: Partial<MethodDef> = {}): MethodDef {
  return { name, nodeId, inputArgumentsId: nodeId + 1, outputArgumentsId: nodeId + 2, inputs, outputs, ...extra };
}

export const POOL_METHODS: MethodDef[] = [
  method("SNRequestAllocated", 15053, REQUEST_INPUTS, REQUEST_OUTPUTS),
  method("SNRequestUnallocated", 15056, REQUEST_INPUTS, REQUEST_OUTPUTS),
  method("SNRequestUnassigned", 15059, REQUEST_INPUTS, REQUEST_OUTPUTS),
  method("SNReturnAllocated", 15047, COLLECTION_INPUTS, [RETURN_STATUS]),
  method("SNReturnUnallocated", 15050, COLLECTION_INPUTS, [RETURN_STATUS]),
  method("SNtoAllocated", 15110, COLLECTION_INPUTS, [RETURN_STATUS]),
  method("SNtoEncoded", 15038, COLLECTION_INPUTS, [RETURN_STATUS]),
  method("SNtoUnallocated", 15044, COLLECTION_INPUTS, [RETURN_STATUS]),
];

export const EVENT_METHODS: MethodDef[] = [
  method("LabelsEncodingEvent", 15088, LABEL_EVENT_INPUTS, [RETURN_STATUS], { optional: true }),
  method("LabelsInspectingEvent", 15082, LABEL_EVENT_INPUTS, [RETURN_STATUS], { optional: true }),
  method("LabelsSamplingEvent", 15079, LABEL_EVENT_INPUTS, [RETURN_STATUS], { optional: true }),
  method("LabelsScrappingEvent", 15085, LABEL_EVENT_INPUTS, [RETURN_STATUS], { optional: true }),
  method("SIDCommissioningEvent", 15076, LABEL_EVENT_INPUTS, [RETURN_STATUS], { optional: true }),
  method("SIDDecommissioningEvent", 15064, LABEL_EVENT_INPUTS, [RETURN_STATUS], { optional: true }),
  method("SIDDestroyingEvent", 15073, LABEL_EVENT_INPUTS, [RETURN_STATUS], { optional: true }),
  method("SIDInspectingEvent", 15067, LABEL_EVENT_INPUTS, [RETURN_STATUS], { optional: true }),
  method("SIDShippingEvent", 15070, LABEL_EVENT_INPUTS, [RETURN_STATUS], { optional: true }),
  method("SNInvalidatingEvent", 15091, SN_INVALIDATING_INPUTS, [RETURN_STATUS], { optional: true }),
];

export const AGGREGATION_METHODS: MethodDef[] = [
  method("AggregationPackingEvent", 15099, AGGREGATION_INPUTS, [RETURN_STATUS]),
  { name: "AggregationUnpackingEvent", nodeId: 7004, inputArgumentsId: 6011, outputArgumentsId: 6013, inputs: AGGREGATION_INPUTS, outputs: [RETURN_STATUS] },
];

const GENERATE_OPTIONS: FieldDef = { name: "GenerateOptions", dataType: "BaseDataType", description: "OPENSCSEventStreamArgumentDataType for writes." };
const FILE_NODE_ID: FieldDef = { name: "FileNodeId", dataType: "NodeId", description: "The temporary file." };
const FILE_HANDLE: FieldDef = { name: "FileHandle", dataType: "UInt32", description: "The handle of the open temporary file." };
const COMPLETION: FieldDef = { name: "CompletionStateMachine", dataType: "NodeId", description: "Progress of the processing; null when there is none." };

export const EPCIS_STREAM: ComponentObjectDef = {
  name: "EPCISStream",
  nodeId: 5001,
  typeDefinition: 15744, // TemporaryFileTransferType
  optional: true,
  properties: [{ name: "ClientProcessingTimeout", nodeId: 6001, dataType: "Duration" }],
  methods: [
    { name: "CloseAndCommit", nodeId: 7001, inputArgumentsId: 6002, outputArgumentsId: 6003, inputs: [FILE_HANDLE], outputs: [COMPLETION], ns0: true, methodDeclarationId: 15751 },
    { name: "GenerateFileForRead", nodeId: 7002, inputArgumentsId: 6004, outputArgumentsId: 6005, inputs: [GENERATE_OPTIONS], outputs: [FILE_NODE_ID, FILE_HANDLE, COMPLETION], ns0: true, methodDeclarationId: 15746 },
    { name: "GenerateFileForWrite", nodeId: 7003, inputArgumentsId: 6006, outputArgumentsId: 6007, inputs: [GENERATE_OPTIONS], outputs: [FILE_NODE_ID, FILE_HANDLE], ns0: true, methodDeclarationId: 15749 },
  ],
};

export const OBJECT_TYPES: ObjectTypeDef[] = [
  {
    name: "OPENSCSPoolManagerObjectType",
    nodeId: 15032,
    description: "A serial number pool manager: clients pull numbers from it and push numbers into it.",
    properties: [
      { name: "PoolSelectionCriteria", nodeId: 15033, dataType: "OPENSCSKeyValueDataType", array: true },
      { name: "MaxSNPushable", nodeId: 15034, dataType: "UInt32" },
      { name: "MaxSNReturnable", nodeId: 15035, dataType: "UInt32" },
      { name: "MaxSNRequestable", nodeId: 15036, dataType: "UInt32" },
      { name: "SNFormat", nodeId: 15037, dataType: "String", array: true },
    ],
    methods: POOL_METHODS,
    objects: [],
  },
  {
    name: "OPENSCSEventManagerObjectType",
    nodeId: 15062,
    description: "Receives serialization events reported by clients.",
    properties: [
      { name: "MaxEvents", nodeId: 15063, dataType: "UInt32" },
      { name: "MaxEPCISObjectEventSIDs", nodeId: 6009, dataType: "UInt32", accessLevel: 3 },
      { name: "MaxEPCISaggregationEvents", nodeId: 6010, dataType: "UInt32", accessLevel: 3 },
    ],
    methods: EVENT_METHODS,
    objects: [EPCIS_STREAM],
  },
  {
    name: "OPENSCSAggregationManagerObjectType",
    nodeId: 15094,
    description: "Receives packing and unpacking events.",
    properties: [{ name: "MaxAggregationEvents", nodeId: 15095, dataType: "UInt32" }],
    methods: AGGREGATION_METHODS,
    objects: [],
  },
  {
    name: "OPENSCSSIDClassObjectType",
    nodeId: 15102,
    description: "Describes one SID class.",
    properties: [
      { name: "IntendedUse", nodeId: 15104, dataType: "String", optional: true },
      { name: "AllowedCharacterSet", nodeId: 15105, dataType: "String" },
      { name: "SyntaxSpecification", nodeId: 15106, dataType: "String" },
      { name: "SIDClassDescription", nodeId: 15107, dataType: "String", optional: true },
      { name: "SIDClassOwner", nodeId: 15108, dataType: "String" },
      { name: "SIDClassID", nodeId: 15109, dataType: "String" },
      { name: "SIDClassProperty", nodeId: 6012, dataType: "OPENSCSSIDClassPropertyDataType", array: true, optional: true, accessLevel: 3 },
    ],
    methods: [],
    objects: [],
  },
];

/** Every OPEN-SCS method of the model, by name (the 20 of the managers). */
export const ALL_METHODS: MethodDef[] = [...POOL_METHODS, ...EVENT_METHODS, ...AGGREGATION_METHODS];

/** OPENSCSReturnEnum names without their numeric suffix, as the store and the messages use them. */
export const RETURN_STATUS_NAMES = RETURN_VALUES.map(([n]) => n.replace(/\d+$/, ""));
/** OPENSCSSerialNumberStateEnum names without their numeric suffix. */
export const STATE_NAMES = STATE_VALUES.map(([n]) => n.replace(/\d+$/, ""));

export function returnStatusValue(name: string): number {
  const i = RETURN_STATUS_NAMES.indexOf(name);
  if (i < 0) throw new Error(`unknown ReturnStatus ${name}`);
  return i;
}
export function returnStatusName(value: number): string {
  return RETURN_STATUS_NAMES[value] ?? `Unknown(${value})`;
}
export function stateValue(name: string): number {
  const i = STATE_NAMES.indexOf(name);
  if (i < 0) throw new Error(`unknown SerialNumber state ${name}`);
  return i;
}
export function stateName(value: number): string {
  return STATE_NAMES[value] ?? `Unknown(${value})`;
}
