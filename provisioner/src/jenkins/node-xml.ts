// A node's config.xml (XStream's form of a hudson.slaves.DumbSlave) as far as the fleet sets it:
// the settings read out of it (in one streaming pass: every plan reads every node's), and the same
// document with those settings changed and everything else (offline cause, launcher, retention
// strategy, node properties) kept as Jenkins wrote it.
// Posting a document back replaces the whole node (Computer.updateByXml -> Nodes.replaceNode), so
// what is left out would be lost: a drained node would come back online.
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { SaxesParser } from 'saxes';
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

/**
 * The root element's name and the texts of its first direct children of the names in `fields`, in
 * one streaming pass (saxes: strict, XML 1.1 as Jenkins writes it). Planning reads every node's
 * config.xml: building a whole document of each (launcher, retention strategy, node properties)
 * only to look at five elements cost more than the request that fetched it. A document cut short
 * or not well-formed is refused, not half read; a nested element of the same name (a node
 * property's own `<description>`) is not the node's.
 */
function scanFields(xml: string): { root: string; texts: Map<string, string> } {
  const texts = new Map<string, string>();
  let root: string | undefined;
  let depth = 0;
  let field: string | undefined;
  let text = '';
  const parser = new SaxesParser();
  parser.on('doctype', () => {
    // XStream writes none, and one could declare entities that this reading would not resolve.
    throw new Error('config.xml has a document type declaration, which Jenkins does not write');
  });
  parser.on('opentag', (tag) => {
    depth++;
    if (depth === 1) root = tag.name;
    else if (depth === 2 && wanted.has(tag.name) && !texts.has(tag.name)) {
      field = tag.name;
      text = '';
    }
  });
  const append = (t: string) => {
    if (field !== undefined && depth === 2) text += t;
  };
  parser.on('text', append);
  parser.on('cdata', append);
  parser.on('closetag', (tag) => {
    if (depth === 2 && field === tag.name) {
      texts.set(field, text);
      field = undefined;
    }
    depth--;
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    const message = (err as Error).message;
    if (message.startsWith('config.xml ')) throw err;
    // saxes names the line and column, and what it met there.
    throw new Error(root === undefined && /document must contain a root element/.test(message) ? 'config.xml holds no element' : `config.xml is not well-formed: ${message}`, { cause: err });
  }
  if (root === undefined) throw new Error('config.xml holds no element');
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
