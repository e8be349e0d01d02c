// Reads fleet.yaml, applies the environment's overrides, validates it, and reads the Jenkins API
// token. Every problem becomes one sentence naming the file (or variable), the field path, what
// was expected and what was found; all of them are reported at once, before anything is contacted.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import type { z as zod } from 'zod';
import { UserError } from '../errors.ts';
import type { Fleet } from '../model.ts';
import { fleetSchema, type FleetConfig } from './schema.ts';

/** Environment variables that override the file, and the field each one replaces. */
const overrides = [
  { variable: 'JENKINS_URL', path: ['controller', 'url'] },
  { variable: 'JENKINS_USER', path: ['controller', 'user'] },
  { variable: 'AWS_REGION', path: ['region'] },
] as const;

// Keys people reach for when they want to put the token in the file; it never goes there.
const inlineTokenKeys = ['token', 'apiToken', 'api_token', 'password', 'secret'];

export async function loadFleet(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Fleet> {
  const source = resolve(path);
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${path}: no such fleet file (give another with --config PATH)`);
    throw new UserError(`${path}: cannot read the fleet file (${code ?? (err as Error).message})`);
  }
  return parseFleet(text, path, env, source);
}

/** Validates fleet.yaml's text; `name` is how the file is named in messages. */
export function parseFleet(text: string, name: string, env: NodeJS.ProcessEnv = {}, source = resolve(name)): Fleet {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new UserError(
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        return `${name}${at ? `:${at.line}:${at.col}` : ''}: not valid YAML (${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')})`;
      }),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UserError(`${name}: expected a mapping with fleet, region, controller and pools, found ${describe(raw)}`);
  }
  const data = raw as Record<string, unknown>;

  const problems: string[] = [];
  const controller = data.controller;
  if (controller && typeof controller === 'object') {
    for (const key of inlineTokenKeys) {
      if (key in controller) {
        problems.push(
          `${name}: controller.${key}: the API token is never read from the fleet file; set JENKINS_API_TOKEN or controller.tokenFile`,
        );
        delete (controller as Record<string, unknown>)[key];
      }
    }
  }

  const overridden = new Map<string, string>();
  for (const { variable, path } of overrides) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    let target = data;
    for (const key of path.slice(0, -1)) {
      if (target[key] === null || typeof target[key] !== 'object') target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[path[path.length - 1] as string] = value;
    overridden.set(path.join('.'), variable);
  }

  const parsed = fleetSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // An unknown key is reported at the key itself, one sentence per key.
      const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
      for (const at of paths) {
        const path = formatPath(at);
        const variable = overridden.get(at.join('.'));
        const where = variable
          ? `${variable} (which overrides ${path})`
          : `${name}${lineOf(doc.contents, at, lines)}: ${path || '(top level)'}`;
        problems.push(`${where}: ${explain(issue)}`);
      }
    }
  }
  if (problems.length > 0) throw new UserError(problems);

  const { lock, ...config } = (parsed as { data: FleetConfig }).data;
  return {
    ...config,
    source,
    pools: config.pools.map((pool) => ({ ...pool, region: pool.region ?? config.region })),
    ...(lock ? { lock: { ...lock, region: lock.region ?? config.region } } : {}),
  };
}

/**
 * The Jenkins API token: `JENKINS_API_TOKEN`, else the file named by `controller.tokenFile`
 * (relative to the fleet file). Never from the fleet file itself.
 */
export async function readToken(fleet: Fleet, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = env.JENKINS_API_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const file = fleet.controller.tokenFile;
  if (!file) {
    throw new UserError(
      `no Jenkins API token: set JENKINS_API_TOKEN, or controller.tokenFile in ${fleet.source} to a file holding it`,
    );
  }
  const path = resolve(dirname(fleet.source), file.replace(/^~(?=\/)/, env.HOME ?? '~'));
  let token: string;
  try {
    token = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new UserError(
      `controller.tokenFile: cannot read the Jenkins API token from ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set JENKINS_API_TOKEN instead or fix the path`,
    );
  }
  if (!token) throw new UserError(`controller.tokenFile: ${path} is empty; it must hold the Jenkins API token`);
  return token;
}

/** `['pools', 1, 'count']` -> `pools[1].count` */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text ? `${text}.${String(key)}` : String(key);
  }, '');
}

function lineOf(root: unknown, path: readonly PropertyKey[], lines: LineCounter): string {
  let node = root as Node | null | undefined;
  let found: Node | undefined;
  for (const key of path) {
    if (isMap(node)) node = node.get(key as string, true) as Node | undefined;
    else if (isSeq(node)) node = node.get(key as number, true) as Node | undefined;
    else break;
    if (!node) break;
    found = node;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? '' : `:${lines.linePos(offset).line}`;
}

function explain(issue: zod.core.$ZodIssue): string {
  const found = 'input' in issue ? describe(issue.input) : 'nothing';
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `is required (expected ${article(issue.expected)})`;
      return `expected ${article(issue.expected)}, found ${found}`;
    case 'unrecognized_keys':
      return 'is not a known key (a typo?)';
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => String(v)).join(', ')}, found ${found}`;
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${String(issue.minimum)} item(s), found ${found}`;
      if (issue.origin === 'string') return `expected a non-empty string, found ${found}`;
      return `expected a number >= ${String(issue.minimum)}, found ${found}`;
    case 'too_big':
      if (issue.origin === 'array') return `expected at most ${String(issue.maximum)} item(s), found ${found}`;
      return `expected a number <= ${String(issue.maximum)}, found ${found}`;
    case 'invalid_format':
      return `${expected(issue.message.startsWith('Invalid') ? issue.format : issue.message)}, found ${found}`;
    case 'custom':
      return expected(issue.message);
    default:
      return `${issue.message}, found ${found}`;
  }
}

/** Schemas phrase their messages as what was expected, with or without the word itself. */
function expected(message: string): string {
  return message.startsWith('expected ') ? message : `expected ${message}`;
}

function article(type: string): string {
  const names: Record<string, string> = { int: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false', array: 'a list', object: 'a mapping' };
  return names[type] ?? type;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}
