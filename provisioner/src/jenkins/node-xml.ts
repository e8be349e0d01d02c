// A node's config.xml (XStream's form of a hudson.slaves.DumbSlave) as far as the fleet sets it:
// the settings read out of it, and the same document with those settings changed and everything
// else (offline cause, launcher, retention strategy, node properties) kept as Jenkins wrote it.
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

function textOf(children: Ordered, element: string): string | undefined {
  const entry = children.find((c) => element in c);
  if (!entry) return undefined;
  return (entry[element] as Ordered).map((part) => (typeof part['#text'] === 'string' ? part['#text'] : '')).join('');
}

/** The fleet's settings of the node this config.xml describes. */
export function parseNodeSettings(xml: string): NodeSettings {
  const { name, children } = rootOf(parser.parse(xml) as Ordered);
  if (name !== 'slave' && name !== 'hudson.slaves.DumbSlave') throw new Error(`config.xml describes a <${name}>, not an agent (<slave>)`);
  const executors = Number(textOf(children, fields.executors) ?? '1');
  const mode = (textOf(children, fields.mode) ?? 'NORMAL').trim();
  return {
    description: textOf(children, fields.description) ?? '',
    remoteFS: textOf(children, fields.remoteFS) ?? '',
    executors: Number.isInteger(executors) ? executors : 0,
    mode: mode === 'EXCLUSIVE' ? 'EXCLUSIVE' : 'NORMAL',
    // Label.parse: the label string is split on whitespace.
    labels: (textOf(children, fields.labels) ?? '').split(/\s+/).filter(Boolean),
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
