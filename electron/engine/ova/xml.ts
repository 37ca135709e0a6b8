/**
 * Reading untrusted XML (OVF descriptors) safely: no DOCTYPE, no entity declarations, no entity
 * expansion beyond the five predefined entities and character references, a size cap and a depth
 * cap. The document becomes a small element tree matched by LOCAL names, because exporters bind
 * the same namespaces to different prefixes (`ovf:`, `rasd:`, `sasd:`, `epasd:`, `vmw:`, `vbox:`
 * or none at all). Parsing is fast-xml-parser (entity processing off), well-formedness is its
 * validator. Pure: no I/O.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { WorkerError } from '../../../shared/errors';

/** One element: qualified and local name, attributes by qualified name, children, own text. */
export interface XmlElement {
  name: string;
  local: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data (text and CDATA), entities decoded, trimmed. */
  text: string;
}

/** Largest descriptor accepted, in bytes of text (real ones are tens of kilobytes). */
export const MAX_XML_CHARS = 16 * 1024 * 1024;
/** Deepest element nesting accepted (an OVF is about 6 deep). */
export const MAX_XML_DEPTH = 64;

/** `rasd:ResourceType` → `ResourceType`. */
export function localName(qualified: string): string {
  const i = qualified.indexOf(':');
  return i === -1 ? qualified : qualified.slice(i + 1);
}

/**
 * Refuse any DOCTYPE or ENTITY declaration, before a parser sees the text: external entities
 * (`<!ENTITY x SYSTEM "file:///etc/passwd">`) and expansion bombs ("billion laughs") both need
 * one. Throws `xml_entity_refused`.
 */
export function refuseDtd(xml: string): void {
  const m = /<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b/i.exec(xml);
  if (m) {
    const line = xml.slice(0, m.index).split('\n').length;
    throw new WorkerError('xml_entity_refused', { detail: `<!${m[1]!.toUpperCase()} declaration at line ${line}` });
  }
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Decode the five predefined entities and numeric character references (XML 1.0 §4.1, §4.6).
 * Any other entity reference would need a DTD to mean anything: `xml_entity_refused`.
 */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&\s]{0,32});/g, (whole, ref: string) => {
    if (ref.startsWith('#x') || ref.startsWith('#X')) {
      const cp = /^[0-9a-fA-F]{1,6}$/.test(ref.slice(2)) ? parseInt(ref.slice(2), 16) : NaN;
      return validCodePoint(cp, whole);
    }
    if (ref.startsWith('#')) {
      const cp = /^\d{1,7}$/.test(ref.slice(1)) ? parseInt(ref.slice(1), 10) : NaN;
      return validCodePoint(cp, whole);
    }
    const v = PREDEFINED[ref];
    if (v === undefined) throw new WorkerError('xml_entity_refused', { detail: `undeclared entity reference ${whole}` });
    return v;
  });
}

function validCodePoint(cp: number, ref: string): string {
  if (!Number.isInteger(cp) || cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    throw new WorkerError('ovf_invalid', { detail: `character reference ${ref} is not a valid character` });
  }
  return String.fromCodePoint(cp);
}

/**
 * Decode the bytes of an XML document to text: UTF-8 (with or without BOM), UTF-16 with a BOM,
 * or the 8-bit encoding named in the XML declaration (ISO-8859-1 / windows-1252 / US-ASCII).
 */
export function decodeXmlBytes(buf: Uint8Array): string {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return new TextDecoder('utf-16le').decode(buf.subarray(2));
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) return new TextDecoder('utf-16be').decode(buf.subarray(2));
  const start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  const head = new TextDecoder('latin1').decode(buf.subarray(start, start + 200));
  const enc = /^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1]?.toLowerCase();
  if (enc && /^(iso-8859-1|latin1|windows-1252|cp1252|us-ascii|ascii)$/.test(enc)) return new TextDecoder('windows-1252').decode(buf.subarray(start));
  return new TextDecoder('utf-8').decode(buf.subarray(start));
}

type FxpNode = Record<string, unknown>;

/**
 * Parse an XML document into an element tree. Throws `xml_entity_refused` (DTD or entity),
 * `ovf_invalid` (not well-formed, too large, too deep, no root element).
 */
export function parseXml(xml: string): { root: XmlElement; comments: string[] } {
  if (xml.length > MAX_XML_CHARS) throw new WorkerError('ovf_invalid', { detail: `the descriptor is ${xml.length} characters; more than ${MAX_XML_CHARS} is not a real OVF` });
  refuseDtd(xml);
  const text = xml.replace(/^\uFEFF/, '');
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    throw new WorkerError('ovf_invalid', { detail: `not well-formed XML: line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}` });
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    cdataPropName: '#cdata',
    commentPropName: '#comment',
    maxNestedTags: MAX_XML_DEPTH,
  });
  let nodes: FxpNode[];
  try {
    nodes = parser.parse(text) as FxpNode[];
  } catch (err) {
    throw new WorkerError('ovf_invalid', { detail: `cannot parse the XML: ${(err as Error).message}` });
  }
  const comments: string[] = [];
  let root: XmlElement | null = null;
  for (const n of nodes) {
    if ('#comment' in n) comments.push(textOf(n['#comment']));
    else if (!('#text' in n)) {
      const el = toElement(n, comments, 0);
      if (el) {
        if (root) throw new WorkerError('ovf_invalid', { detail: 'more than one root element' });
        root = el;
      }
    }
  }
  if (!root) throw new WorkerError('ovf_invalid', { detail: 'no root element' });
  return { root, comments };
}

function textOf(v: unknown): string {
  if (!Array.isArray(v)) return '';
  return v.map((c: FxpNode) => (typeof c['#text'] === 'string' ? c['#text'] : '')).join('');
}

function toElement(n: FxpNode, comments: string[], depth: number): XmlElement | null {
  if (depth > MAX_XML_DEPTH) throw new WorkerError('ovf_invalid', { detail: `elements nested more than ${MAX_XML_DEPTH} deep` });
  const name = Object.keys(n).find((k) => k !== ':@');
  if (!name) return null;
  const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
  const rawAttrs = n[':@'];
  if (rawAttrs && typeof rawAttrs === 'object') {
    for (const [k, v] of Object.entries(rawAttrs as Record<string, unknown>)) attrs[k] = decodeEntities(String(v));
  }
  const el: XmlElement = { name, local: localName(name), attrs, children: [], text: '' };
  const parts: string[] = [];
  const kids = n[name];
  if (Array.isArray(kids)) {
    for (const c of kids as FxpNode[]) {
      if (typeof c['#text'] === 'string') parts.push(decodeEntities(c['#text']));
      else if ('#cdata' in c) parts.push(textOf(c['#cdata']));
      else if ('#comment' in c) comments.push(textOf(c['#comment']));
      else {
        const child = toElement(c, comments, depth + 1);
        if (child) el.children.push(child);
      }
    }
  }
  el.text = parts.join('').trim();
  return el;
}

/** The first child element with this local name. */
export function child(el: XmlElement | null | undefined, local: string): XmlElement | null {
  return el?.children.find((c) => c.local === local) ?? null;
}

/** All child elements with this local name (any of them, when several are given). */
export function children(el: XmlElement | null | undefined, ...locals: string[]): XmlElement[] {
  return el ? el.children.filter((c) => locals.includes(c.local)) : [];
}

/** All descendants with this local name, document order. */
export function descendants(el: XmlElement, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    for (const c of e.children) {
      if (c.local === local) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}

/** Text of the first child with this local name, or null when absent or empty. */
export function childText(el: XmlElement | null | undefined, local: string): string | null {
  const c = child(el, local);
  return c && c.text !== '' ? c.text : null;
}

/** An attribute by local name, whatever its prefix (`ovf:capacity`, `capacity`). Namespace declarations never match. */
export function attr(el: XmlElement | null | undefined, local: string): string | null {
  if (!el) return null;
  for (const [k, v] of Object.entries(el.attrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    if (localName(k) === local) return v;
  }
  return null;
}

/** Namespace declarations on an element: prefix ('' for the default) → URI. */
export function namespaces(el: XmlElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(el.attrs)) {
    if (k === 'xmlns') out[''] = v;
    else if (k.startsWith('xmlns:')) out[k.slice(6)] = v;
  }
  return out;
}
