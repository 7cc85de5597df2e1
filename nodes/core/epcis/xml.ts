/* A small non-validating XML reader for EPCIS documents: elements with their namespace URIs, attributes, text.
   No DTDs, no external entities (an EPCIS document needs neither, and refusing them closes XXE by design). */
import { EpcisError } from "./errors";

export interface XmlElement {
  /** namespace URI ("" for none) */
  ns: string;
  /** local name */
  name: string;
  /** attributes by "{ns}local" (ns omitted when empty), namespace declarations left out */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** the concatenated text content directly inside this element */
  text: string;
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function unescape(s: string, at: number): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e[0] === "#") return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    if (v === undefined) throw new EpcisError("BadInput", `XML: unknown entity ${m} near offset ${at}`);
    return v;
  });
}

/** Parses an XML document into its root element. Throws EpcisError("BadInput") naming the offset on malformed XML. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const n = text.length;
  const fail = (msg: string): never => {
    const line = text.slice(0, i).split("\n").length;
    throw new EpcisError("BadInput", `XML: ${msg} (line ${line})`);
  };
  type Frame = { el: XmlElement; qname: string; scope: Record<string, string> };
  const stack: Frame[] = [];
  let root: XmlElement | undefined;
  const baseScope: Record<string, string> = { xml: "http://www.w3.org/XML/1998/namespace" };
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < n) {
    const lt = text.indexOf("<", i);
    const chunk = lt < 0 ? text.slice(i) : text.slice(i, lt);
    if (chunk.length) {
      if (stack.length) stack[stack.length - 1].el.text += unescape(chunk, i);
      else if (chunk.trim() !== "") fail("text outside the root element");
    }
    if (lt < 0) break;
    i = lt;
    if (text.startsWith("<!--", i)) {
      const e = text.indexOf("-->", i + 4);
      if (e < 0) fail("unterminated comment");
      i = e + 3;
    } else if (text.startsWith("<![CDATA[", i)) {
      const e = text.indexOf("]]>", i + 9);
      if (e < 0) fail("unterminated CDATA section");
      if (!stack.length) fail("CDATA outside the root element");
      stack[stack.length - 1].el.text += text.slice(i + 9, e);
      i = e + 3;
    } else if (text.startsWith("<?", i)) {
      const e = text.indexOf("?>", i + 2);
      if (e < 0) fail("unterminated processing instruction");
      i = e + 2;
    } else if (text.startsWith("<!", i)) {
      fail("document type declarations are not accepted in an EPCIS document");
    } else if (text.startsWith("</", i)) {
      const e = text.indexOf(">", i);
      if (e < 0) fail("unterminated end tag");
      const qname = text.slice(i + 2, e).trim();
      const top = stack.pop();
      if (!top || top.qname !== qname) fail(`end tag </${qname}> does not close <${top?.qname ?? "nothing"}>`);
      i = e + 1;
    } else {
      const m = /^<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)/.exec(text.slice(i, i + 256));
      if (!m) fail("malformed start tag");
      const qname = m![1];
      i += m![0].length;
      const raw: Array<[string, string]> = [];
      for (;;) {
        const ws = /^\s*/.exec(text.slice(i, i + 1024))![0];
        i += ws.length;
        if (text.startsWith("/>", i) || text[i] === ">") break;
        const a = /^([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)\s*=\s*("([^"]*)"|'([^']*)')/.exec(text.slice(i, i + 65536));
        if (!a || !ws.length) fail(`malformed attribute in <${qname}>`);
        raw.push([a![1], unescape(a![3] ?? a![4], i)]);
        i += a![0].length;
      }
      const selfClosing = text.startsWith("/>", i);
      i += selfClosing ? 2 : 1;
      const parentScope = stack.length ? stack[stack.length - 1].scope : baseScope;
      let scope = parentScope;
      for (const [k, v] of raw) {
        if (k === "xmlns" || k.startsWith("xmlns:")) {
          if (scope === parentScope) scope = { ...parentScope };
          scope[k === "xmlns" ? "" : k.slice(6)] = v;
        }
      }
      const resolve = (q: string, isAttr: boolean): [string, string] => {
        const c = q.indexOf(":");
        if (c < 0) return [isAttr ? "" : (scope[""] ?? ""), q];
        const uri = scope[q.slice(0, c)];
        if (uri === undefined) fail(`undeclared namespace prefix in ${q}`);
        return [uri!, q.slice(c + 1)];
      };
      const [ns, name] = resolve(qname, false);
      const attrs: Record<string, string> = {};
      for (const [k, v] of raw) {
        if (k === "xmlns" || k.startsWith("xmlns:")) continue;
        const [ans, an] = resolve(k, true);
        attrs[ans ? `{${ans}}${an}` : an] = v;
      }
      const el: XmlElement = { ns, name, attrs, children: [], text: "" };
      if (stack.length) stack[stack.length - 1].el.children.push(el);
      else if (root) fail("more than one root element");
      else root = el;
      if (!selfClosing) stack.push({ el, qname, scope });
    }
  }
  if (stack.length) fail(`<${stack[stack.length - 1].qname}> is not closed`);
  if (!root) fail("no root element");
  return root!;
}
