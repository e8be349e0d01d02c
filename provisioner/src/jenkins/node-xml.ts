// A node's config.xml (XStream's form of a hudson.slaves.DumbSlave) as far as the fleet sets it:
// the settings read out of it (by a scan of the text: every plan reads every node's), and the same
// document with those settings changed and everything else (offline cause, launcher, retention
// strategy, node properties) kept as Jenkins wrote it.
// Posting a document back replaces the whole node (Computer.updateByXml -> Nodes.replaceNode), so
// what is left out would be lost: a drained node would come back online.
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { NodeSettings } from '../model.ts';

type Ordered = Array<Record<string, unknown>>;

const options = {
  preserveOrder: true,
  ignoreAttributes: false,
  // Texts stay as written: a label or a description made of digits is not a number.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
} as const;

const parser = new XMLParser(options);
const builder = new XMLBuilder({ ...options, suppressEmptyNode: false });

/** The element directly under the root that the fleet's settings live in, in XStream's names. */
const fields = { description: 'description', remoteFS: 'remoteFS', executors: 'numExecutors', mode: 'mode', labels: 'label' } as const;

/** The children of the document's root element and the root's name, or an error naming what was found. */
function rootOf(document: Ordered): { name: string; children: Ordered } {
  for (const entry of document) {
    const name = Object.keys(entry).find((k) => k !== ':@' && !k.startsWith('?') && k !== '#comment');
    if (name) return { name, children: entry[name] as Ordered };
  }
  throw new Error('config.xml holds no element');
}

const wanted: ReadonlySet<string> = new Set(Object.values(fields));
const predefined: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** A text's references resolved: XML's five entities and character references (XStream writes control characters as `&#x1b;`). */
function decode(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z][\w.-]*);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return predefined[ref] ?? whole;
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/** Where the tag opened at `from` ends (its `>`), past any `>` inside a quoted attribute value. */
function tagEnd(xml: string, from: number): number {
  let quote = '';
  for (let i = from + 1; i < xml.length; i++) {
    const c = xml[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i;
  }
  throw new Error('config.xml ends inside a tag');
}

const elementName = /[^\s/>]+/y;

/**
 * The root element's name and the texts of its first direct children of the names in `fields`, read
 * in one pass over the text. Planning reads every node's config.xml: building a whole document of
 * each (launcher, retention strategy, node properties) only to look at five elements cost more than
 * the request that fetched it. Elements are matched open to close, so a document cut short or
 * mismatched is refused, not half read; a nested element of the same name (a node property's own
 * `<description>`) is not the node's.
 */
function scanFields(xml: string): { root: string; texts: Map<string, string> } {
  const open: string[] = [];
  const texts = new Map<string, string>();
  let root: string | undefined;
  let field: string | undefined;
  let text = '';
  let at = 0;
  for (;;) {
    const lt = xml.indexOf('<', at);
    if (field !== undefined && open.length === 2) text += decode(lt === -1 ? xml.slice(at) : xml.slice(at, lt));
    if (lt === -1) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4);
      if (end === -1) throw new Error('config.xml ends inside a comment');
      at = end + 3;
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt + 9);
      if (end === -1) throw new Error('config.xml ends inside a CDATA section');
      if (field !== undefined && open.length === 2) text += xml.slice(lt + 9, end);
      at = end + 3;
    } else if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt + 2);
      if (end === -1) throw new Error('config.xml ends inside a processing instruction');
      at = end + 2;
    } else if (xml.startsWith('<!', lt)) {
      // XStream writes none, and one could declare entities that a scan cannot resolve.
      throw new Error('config.xml has a document type declaration, which Jenkins does not write');
    } else if (xml[lt + 1] === '/') {
      const end = xml.indexOf('>', lt);
      if (end === -1) throw new Error('config.xml ends inside a tag');
      const name = xml.slice(lt + 2, end).trim();
      const expected = open.pop();
      if (name !== expected) throw new Error(`config.xml is not well-formed: </${name}> where ${expected ? `</${expected}>` : 'no element'} was open`);
      if (field !== undefined && open.length === 1) {
        texts.set(field, text);
        field = undefined;
      }
      at = end + 1;
      if (open.length === 0) break;
    } else {
      const end = tagEnd(xml, lt);
      elementName.lastIndex = lt + 1;
      const name = elementName.exec(xml)?.[0];
      if (!name) throw new Error(`config.xml is not well-formed: a tag without a name at offset ${lt}`);
      const empty = xml[end - 1] === '/';
      if (open.length === 0) root ??= name;
      else if (open.length === 1 && wanted.has(name) && !texts.has(name) && field === undefined) {
        if (empty) texts.set(name, '');
        else {
          field = name;
          text = '';
        }
      }
      if (!empty) open.push(name);
      at = end + 1;
      if (empty && open.length === 0) break;
    }
  }
  if (root === undefined) throw new Error('config.xml holds no element');
  if (open.length > 0) throw new Error(`config.xml ends inside <${open[open.length - 1]}>`);
  return { root, texts };
}

/** The fleet's settings of the node this config.xml describes. */
export function parseNodeSettings(xml: string): NodeSettings {
  const { root, texts } = scanFields(xml);
  if (root !== 'slave' && root !== 'hudson.slaves.DumbSlave') throw new Error(`config.xml describes a <${root}>, not an agent (<slave>)`);
  const executors = Number(texts.get(fields.executors) ?? '1');
  const mode = (texts.get(fields.mode) ?? 'NORMAL').trim();
  return {
    description: texts.get(fields.description) ?? '',
    remoteFS: texts.get(fields.remoteFS) ?? '',
    executors: Number.isInteger(executors) ? executors : 0,
    mode: mode === 'EXCLUSIVE' ? 'EXCLUSIVE' : 'NORMAL',
    // Label.parse: the label string is split on whitespace.
    labels: (texts.get(fields.labels) ?? '').split(/\s+/).filter(Boolean),
  };
}

/** The same config.xml with the fleet's settings replaced, every other element untouched. */
export function withNodeSettings(xml: string, settings: NodeSettings): string {
  const document = parser.parse(xml) as Ordered;
  const { children } = rootOf(document);
  const values: Record<string, string> = {
    [fields.description]: settings.description,
    [fields.remoteFS]: settings.remoteFS,
    [fields.executors]: String(settings.executors),
    [fields.mode]: settings.mode,
    [fields.labels]: settings.labels.join(' '),
  };
  for (const [element, value] of Object.entries(values)) {
    const entry = children.find((c) => element in c);
    if (entry) entry[element] = [{ '#text': value }];
    else children.push({ [element]: [{ '#text': value }] });
  }
  return builder.build(document) as string;
}
