/* Generates, from model.ts, the NodeSet2 document our server loads. Generated rather than shipped so the
   model lives in one typed place and carries the LabelCollection workaround (docs/opcua.md, "Deviations") by construction. */
import {
  DATA_TYPES, DataTypeDef, FieldDef, MethodDef, MODEL_PUBLICATION_DATE, MODEL_VERSION, NAMESPACE_URI, NS0_DATATYPES,
  OBJECT_TYPES, PropertyDef, ComponentObjectDef, dataTypeByName,
} from "./model";

const MANDATORY = 78;
const OPTIONAL = 80;
const PROPERTY_TYPE = 68;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** NodeId text of a DataType given by name, in the document's own numbering (ns=1 is OPEN-SCS). */
export function dataTypeNodeId(name: string): string {
  if (name in NS0_DATATYPES) return `i=${NS0_DATATYPES[name]}`;
  const d = dataTypeByName(name);
  if (!d) throw new Error(`unknown DataType ${name} in the OPEN-SCS model`);
  return `ns=1;i=${d.nodeId}`;
}

const ref = (type: string, target: string, forward = true) =>
  `      <Reference ReferenceType="${type}"${forward ? "" : ' IsForward="false"'}>${target}</Reference>`;
const desc = (d?: string) => (d ? `    <Description>${esc(d)}</Description>\n` : "");
const rank = (f: { array?: boolean }) => (f.array ? ' ValueRank="1" ArrayDimensions="0"' : "");

function dataTypeXml(d: DataTypeDef): string {
  const lines: string[] = [];
  if (d.kind === "enum") {
    lines.push(`  <UADataType NodeId="ns=1;i=${d.nodeId}" BrowseName="1:${d.name}">`);
    lines.push(`    <DisplayName>${d.name}</DisplayName>`);
    lines.push(desc(d.description).trimEnd());
    lines.push("    <References>", ref("HasProperty", `ns=1;i=${d.enumValuesId}`), ref("HasSubtype", "i=29", false), "    </References>");
    lines.push(`    <Definition Name="1:${d.name}">`);
    for (const v of d.values) lines.push(`      <Field Name="${v.name}" Value="${v.value}"><Description>${esc(v.description)}</Description></Field>`);
    lines.push("    </Definition>", "  </UADataType>");
    lines.push(
      `  <UAVariable NodeId="ns=1;i=${d.enumValuesId}" BrowseName="EnumValues" ParentNodeId="ns=1;i=${d.nodeId}" DataType="i=7594" ValueRank="1" ArrayDimensions="${d.values.length}">`,
      "    <DisplayName>EnumValues</DisplayName>",
      "    <References>", ref("HasTypeDefinition", `i=${PROPERTY_TYPE}`), ref("HasModellingRule", `i=${MANDATORY}`), ref("HasProperty", `ns=1;i=${d.nodeId}`, false), "    </References>",
      "    <Value>",
      '      <ListOfExtensionObject xmlns="http://opcfoundation.org/UA/2008/02/Types.xsd">',
    );
    for (const v of d.values) {
      lines.push(
        `        <ExtensionObject><TypeId><Identifier>i=7616</Identifier></TypeId><Body><EnumValueType><Value>${v.value}</Value>` +
          `<DisplayName><Text>${v.name}</Text></DisplayName><Description><Text>${esc(v.description)}</Text></Description></EnumValueType></Body></ExtensionObject>`,
      );
    }
    lines.push("      </ListOfExtensionObject>", "    </Value>", "  </UAVariable>");
    return lines.filter((l) => l !== "").join("\n");
  }
  lines.push(`  <UADataType NodeId="ns=1;i=${d.nodeId}" BrowseName="1:${d.name}"${d.isAbstract ? ' IsAbstract="true"' : ""}>`);
  lines.push(`    <DisplayName>${d.name}</DisplayName>`);
  if (d.description) lines.push(`    <Description>${esc(d.description)}</Description>`);
  lines.push("    <References>");
  for (const e of [d.encodings.binary, d.encodings.xml, d.encodings.json]) lines.push(ref("HasEncoding", `ns=1;i=${e}`));
  lines.push(ref("HasSubtype", dataTypeNodeId(d.supertype), false), "    </References>");
  if (d.fields.length > 0) {
    lines.push(`    <Definition Name="1:${d.name}">`);
    for (const f of d.fields) {
      lines.push(`      <Field Name="${f.name}" DataType="${dataTypeNodeId(f.dataType)}"${rank(f)}${f.optional ? ' IsOptional="true"' : ""}>${f.description ? `<Description>${esc(f.description)}</Description>` : ""}</Field>`);
    }
    lines.push("    </Definition>");
  }
  lines.push("  </UADataType>");
  const encodingNames: Array<[number, string, string]> = [
    [d.encodings.binary, "Default Binary", "DefaultBinary"],
    [d.encodings.xml, "Default XML", "DefaultXml"],
    [d.encodings.json, "Default JSON", "DefaultJson"],
  ];
  for (const [id, browse, sym] of encodingNames) {
    lines.push(
      `  <UAObject NodeId="ns=1;i=${id}" BrowseName="${browse}" SymbolicName="${sym}">`,
      `    <DisplayName>${browse}</DisplayName>`,
      "    <References>", ref("HasTypeDefinition", "i=76"), ref("HasEncoding", `ns=1;i=${d.nodeId}`, false), "    </References>",
      "  </UAObject>",
    );
  }
  return lines.join("\n");
}

function argumentsXml(id: number, parent: number, browse: string, args: FieldDef[]): string {
  const body = args
    .map(
      (a) =>
        `        <ExtensionObject><TypeId><Identifier>i=297</Identifier></TypeId><Body><Argument><Name>${a.name}</Name>` +
        `<DataType><Identifier>${dataTypeNodeId(a.dataType)}</Identifier></DataType><ValueRank>${a.array ? 1 : -1}</ValueRank>` +
        `<ArrayDimensions>${a.array ? "<UInt32>0</UInt32>" : ""}</ArrayDimensions>` +
        `<Description>${a.description ? `<Text>${esc(a.description)}</Text>` : ""}</Description></Argument></Body></ExtensionObject>`,
    )
    .join("\n");
  return [
    `  <UAVariable NodeId="ns=1;i=${id}" BrowseName="${browse}" ParentNodeId="ns=1;i=${parent}" DataType="i=296" ValueRank="1" ArrayDimensions="${args.length}">`,
    `    <DisplayName>${browse}</DisplayName>`,
    "    <References>", ref("HasTypeDefinition", `i=${PROPERTY_TYPE}`), ref("HasModellingRule", `i=${MANDATORY}`), ref("HasProperty", `ns=1;i=${parent}`, false), "    </References>",
    "    <Value>",
    '      <ListOfExtensionObject xmlns="http://opcfoundation.org/UA/2008/02/Types.xsd">',
    body,
    "      </ListOfExtensionObject>",
    "    </Value>",
    "  </UAVariable>",
  ].join("\n");
}

function methodXml(m: MethodDef, parent: number): string {
  const browse = m.ns0 ? m.name : `1:${m.name}`;
  return [
    `  <UAMethod NodeId="ns=1;i=${m.nodeId}" BrowseName="${browse}" ParentNodeId="ns=1;i=${parent}"${m.methodDeclarationId ? ` MethodDeclarationId="i=${m.methodDeclarationId}"` : ""}>`,
    `    <DisplayName>${m.name}</DisplayName>`,
    "    <References>",
    ref("HasProperty", `ns=1;i=${m.inputArgumentsId}`),
    ref("HasProperty", `ns=1;i=${m.outputArgumentsId}`),
    ref("HasModellingRule", `i=${m.optional ? OPTIONAL : MANDATORY}`),
    ref("HasComponent", `ns=1;i=${parent}`, false),
    "    </References>",
    "  </UAMethod>",
    argumentsXml(m.inputArgumentsId, m.nodeId, "InputArguments", m.inputs),
    argumentsXml(m.outputArgumentsId, m.nodeId, "OutputArguments", m.outputs),
  ].join("\n");
}

function propertyXml(p: PropertyDef, parent: number, ns0 = false): string {
  return [
    `  <UAVariable NodeId="ns=1;i=${p.nodeId}" BrowseName="${ns0 ? "" : "1:"}${p.name}" ParentNodeId="ns=1;i=${parent}" DataType="${dataTypeNodeId(p.dataType)}"${rank(p)}${p.accessLevel ? ` AccessLevel="${p.accessLevel}"` : ""}>`,
    `    <DisplayName>${p.name}</DisplayName>`,
    "    <References>", ref("HasTypeDefinition", `i=${PROPERTY_TYPE}`), ref("HasModellingRule", `i=${p.optional ? OPTIONAL : MANDATORY}`), ref("HasProperty", `ns=1;i=${parent}`, false), "    </References>",
    "  </UAVariable>",
  ].join("\n");
}

function componentXml(o: ComponentObjectDef, parent: number): string {
  const out = [
    `  <UAObject NodeId="ns=1;i=${o.nodeId}" BrowseName="1:${o.name}" ParentNodeId="ns=1;i=${parent}">`,
    `    <DisplayName>${o.name}</DisplayName>`,
    "    <References>",
    ...o.properties.map((p) => ref("HasProperty", `ns=1;i=${p.nodeId}`)),
    ...o.methods.map((m) => ref("HasComponent", `ns=1;i=${m.nodeId}`)),
    ref("HasTypeDefinition", `i=${o.typeDefinition}`),
    ref("HasModellingRule", `i=${o.optional ? OPTIONAL : MANDATORY}`),
    ref("HasComponent", `ns=1;i=${parent}`, false),
    "    </References>",
    "  </UAObject>",
  ];
  for (const p of o.properties) out.push(propertyXml(p, o.nodeId, true));
  for (const m of o.methods) out.push(methodXml(m, o.nodeId));
  return out.join("\n");
}

/** The whole NodeSet2 document of our OPEN-SCS model. */
export function generateNodeSet2(): string {
  const parts: string[] = [
    '<?xml version="1.0" encoding="utf-8"?>',
    "<!-- Generated by SerialFlow from nodes/core/opcua/model.ts: the OPEN-SCS model (OPC 30260) as SerialFlow defines it. -->",
    '<UANodeSet xmlns="http://opcfoundation.org/UA/2011/03/UANodeSet.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    "  <NamespaceUris>",
    `    <Uri>${NAMESPACE_URI}</Uri>`,
    "  </NamespaceUris>",
    "  <Models>",
    `    <Model ModelUri="${NAMESPACE_URI}" Version="${MODEL_VERSION}" PublicationDate="${MODEL_PUBLICATION_DATE}">`,
    '      <RequiredModel ModelUri="http://opcfoundation.org/UA/" Version="1.04.3" PublicationDate="2019-09-09T00:00:00Z"/>',
    "    </Model>",
    "  </Models>",
  ];
  for (const d of DATA_TYPES) parts.push(dataTypeXml(d));
  for (const t of OBJECT_TYPES) {
    parts.push(
      `  <UAObjectType NodeId="ns=1;i=${t.nodeId}" BrowseName="1:${t.name}">`,
      `    <DisplayName>${t.name}</DisplayName>`,
      t.description ? `    <Description>${esc(t.description)}</Description>` : "",
      "    <References>",
      ref("HasSubtype", "i=58", false),
      ...t.properties.map((p) => ref("HasProperty", `ns=1;i=${p.nodeId}`)),
      ...t.methods.map((m) => ref("HasComponent", `ns=1;i=${m.nodeId}`)),
      ...t.objects.map((o) => ref("HasComponent", `ns=1;i=${o.nodeId}`)),
      "    </References>",
      "  </UAObjectType>",
    );
    for (const p of t.properties) parts.push(propertyXml(p, t.nodeId));
    for (const m of t.methods) parts.push(methodXml(m, t.nodeId));
    for (const o of t.objects) parts.push(componentXml(o, t.nodeId));
  }
  parts.push("</UANodeSet>", "");
  return parts.filter((p) => p !== "").join("\n");
}
