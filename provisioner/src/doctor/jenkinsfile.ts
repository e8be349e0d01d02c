// What `doctor` needs to know about a Jenkinsfile without running it: the libraries it loads
// (`@Library`), and for each stage the agent label it runs on and the steps it calls. Reads
// Declarative (`pipeline { agent { label ... } stages { stage(...) { steps { ... } } } }`) and
// scripted (`node('label') { stage(...) { ... } }`) pipelines through their block structure.

/** A `@Library('name@version')` reference; `version` is undefined when none is given. */
export interface LibraryReference {
  name: string;
  version: string | undefined;
  line: number;
}

/** One stage: where it runs and which of the wanted steps it calls. */
export interface Stage {
  name: string;
  /** The label expression of the agent it runs on; `any` for `agent any`; undefined for no agent. */
  label: string | undefined;
  /**
   * The agent an enclosing stage holds while this one runs (undefined: none). Declarative allocates
   * a stage's own agent after its input, so this is what an input waits holding.
   */
  enclosingLabel: string | undefined;
  /** Calls to the wanted steps inside the stage (in order, repeats kept out). */
  steps: string[];
  /** The stage's `input` directive, when it has one: who may answer (`submitter`), if anyone is named. */
  input?: { submitter: string | undefined };
  /** Whether the stage (or a stage enclosing it) sets a `timeout` in its options. */
  timeout: boolean;
  line: number;
}

export interface JenkinsfileFacts {
  libraries: LibraryReference[];
  stages: Stage[];
}

export interface Block {
  /** The statement that opens the block, e.g. `stage('Build')`, `agent`, `steps`. */
  head: string;
  /** The block's text, with its children's text included. */
  text: string;
  /** The block's own text, children left out. */
  own: string;
  children: Block[];
  line: number;
}

/**
 * Replaces comments and string contents with spaces (keeping line breaks and the quotes), so that
 * braces and words inside them are not mistaken for structure. Returns the masked text and the
 * string literals by their start offset.
 */
function mask(source: string): { masked: string; strings: Map<number, string> } {
  const out = source.split('');
  const strings = new Map<number, string>();
  const blank = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (out[i] !== '\n') out[i] = ' ';
  };
  let i = 0;
  while (i < source.length) {
    const rest = source.slice(i, i + 3);
    if (rest.startsWith('//')) {
      const end = source.indexOf('\n', i);
      const stop = end === -1 ? source.length : end;
      blank(i, stop);
      i = stop;
    } else if (rest.startsWith('/*')) {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (rest === "'''" || rest === '"""') {
      const end = source.indexOf(rest, i + 3);
      const stop = end === -1 ? source.length : end;
      strings.set(i, source.slice(i + 3, stop));
      blank(i + 3, stop);
      i = stop + 3;
    } else if (rest[0] === "'" || rest[0] === '"') {
      const quote = rest[0];
      let j = i + 1;
      while (j < source.length && source[j] !== quote && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      strings.set(i, source.slice(i + 1, j).replace(/\\(.)/g, '$1'));
      blank(i + 1, j);
      i = j + 1;
    } else i++;
  }
  return { masked: out.join(''), strings };
}

/** Splits masked text into nested blocks by braces; `head` is the statement before each `{`. */
function blocks(masked: string, source: string): Block[] {
  const lineAt = (offset: number) => masked.slice(0, offset).split('\n').length;
  const rootBlock: Block = { head: '', text: source, own: '', children: [], line: 1 };
  const stack: { block: Block; start: number; ownParts: string[]; last: number }[] = [{ block: rootBlock, start: 0, ownParts: [], last: 0 }];
  for (let i = 0; i < masked.length; i++) {
    const ch = masked[i];
    const top = stack[stack.length - 1]!;
    if (ch === '{') {
      // The head is the last line of the statement since the previous boundary, read from the
      // source (masking keeps offsets) so the strings in it are intact.
      const before = masked.slice(top.last, i);
      const from = top.last + Math.max(before.lastIndexOf(';'), before.lastIndexOf('}'), before.lastIndexOf('{')) + 1;
      let head = '';
      for (let end = i; end > from && !head; ) {
        const lineStart = Math.max(from, masked.lastIndexOf('\n', end - 1) + 1);
        head = source.slice(lineStart, end).trim();
        end = lineStart - 1;
      }
      top.ownParts.push(source.slice(top.last, i));
      const block: Block = { head, text: '', own: '', children: [], line: lineAt(i) };
      top.block.children.push(block);
      stack.push({ block, start: i + 1, ownParts: [], last: i + 1 });
    } else if (ch === '}' && stack.length > 1) {
      stack.pop();
      top.ownParts.push(source.slice(top.last, i));
      top.block.text = source.slice(top.start, i);
      top.block.own = top.ownParts.join(' ');
      const parent = stack[stack.length - 1]!;
      parent.last = i + 1;
    }
  }
  const outer = stack[0]!;
  outer.ownParts.push(source.slice(outer.last));
  rootBlock.own = outer.ownParts.join(' ');
  return [rootBlock];
}

const quoted = `(?:'([^']*)'|"([^"]*)")`;
const stageHead = new RegExp(`^stage\\s*\\(\\s*(?:name\\s*:\\s*)?${quoted}`);
const nodeHead = new RegExp(`^node\\s*\\(\\s*(?:label\\s*:\\s*)?${quoted}\\s*\\)$`);
const labelStatement = new RegExp(`\\blabel\\s*\\(?\\s*(?:label\\s*:\\s*)?${quoted}`);

function firstQuoted(match: RegExpExecArray | null): string | undefined {
  return match ? (match[1] ?? match[2]) : undefined;
}

/** The label an `agent` block or statement gives, `any`, `none` (null), or undefined (no agent here). */
function agentOf(block: Block): string | null | undefined {
  const agent = block.children.find((c) => c.head === 'agent');
  if (agent) {
    const label = firstQuoted(labelStatement.exec(agent.text));
    if (label !== undefined) return label;
    if (/\bany\b/.test(agent.text)) return 'any';
    return undefined;
  }
  const inline = /\bagent\s+(any|none)\b/.exec(block.own);
  if (inline) return inline[1] === 'any' ? 'any' : null;
  return undefined;
}

/** Groovy source (a Jenkinsfile, a Job DSL script) as its tree of brace blocks, comments and strings masked. */
export function groovyBlocks(source: string): Block {
  return blocks(mask(source).masked, source)[0]!;
}

/** The first quoted argument of `name(...)` in Groovy text, e.g. `id('x')` -> x. */
export function callArgument(text: string, name: string): string | undefined {
  return firstQuoted(new RegExp(`\\b${name}\\s*\\(\\s*${quoted}`).exec(text));
}

/**
 * Reads a Jenkinsfile. `wanted` are the step names to look for (the library's steps); a call is
 * `name(...)` or `name key: value` inside the stage.
 */
export function readJenkinsfile(source: string, wanted: readonly string[]): JenkinsfileFacts {
  const { masked, strings } = mask(source);
  const libraries: LibraryReference[] = [];
  const lineAt = (offset: number) => source.slice(0, offset).split('\n').length;

  for (const match of masked.matchAll(/@Library\s*\(/g)) {
    const open = (match.index ?? 0) + match[0].length;
    const close = masked.indexOf(')', open);
    for (const [offset, value] of strings) {
      if (offset < open || offset > close) continue;
      const at = value.lastIndexOf('@');
      libraries.push({
        name: at === -1 ? value : value.slice(0, at),
        version: at === -1 ? undefined : value.slice(at + 1),
        line: lineAt(offset),
      });
    }
  }

  const callPattern = wanted.length > 0
    // A name followed by `(`, or by whitespace and an argument (`test dir: 'app'`), never by more
    // of a longer name (`testInContainer` is no call of `test`).
    ? new RegExp(`(?<![\\w.$])(${wanted.map((w) => w.replace(/[$]/g, '\\$')).join('|')})(?![\\w$])\\s*(\\(|[A-Za-z_'"\\[])`, 'g')
    : undefined;
  const stepsIn = (text: string) => {
    const found: string[] = [];
    if (!callPattern) return found;
    const plain = mask(text).masked;
    for (const m of plain.matchAll(callPattern)) {
      const name = m[1] as string;
      // Without parentheses (`test dir: 'app'`) a call must start a statement; otherwise the
      // word is part of a longer expression.
      const before = plain.slice(0, m.index).replace(/[ \t]+$/, '');
      if (m[2] !== '(' && before.length > 0 && !/[\n;{]$/.test(before)) continue;
      if (!found.includes(name)) found.push(name);
    }
    return found;
  };

  const stages: Stage[] = [];
  const walk = (block: Block, label: string | undefined, timeout: boolean) => {
    for (const child of block.children) {
      const stageName = firstQuoted(stageHead.exec(child.head));
      const nodeLabel = firstQuoted(nodeHead.exec(child.head));
      if (stageName !== undefined) {
        const own = agentOf(child);
        const stageLabel = own === undefined ? label : own === null ? undefined : own;
        const options = child.children.find((c) => c.head === 'options');
        const stageTimeout = timeout || (options !== undefined && /\btimeout\s*\(/.test(mask(options.text).masked));
        const nested = child.children.some((c) => c.head === 'stages' || c.head === 'parallel' || stageHead.test(c.head));
        if (nested) walk(child, stageLabel, stageTimeout);
        // A stage with nested stages runs its steps in them; the stage itself only when it has steps.
        const body = child.children.filter((c) => c.head !== 'agent' && c.head !== 'stages' && c.head !== 'parallel' && c.head !== 'input' && !stageHead.test(c.head));
        const calls = stepsIn(body.map((b) => b.text).join('\n') + '\n' + (nested ? '' : child.own));
        const inputBlock = child.children.find((c) => c.head === 'input');
        const input = inputBlock ? { submitter: firstQuoted(new RegExp(`\\bsubmitter\\s*\\(?\\s*${quoted}`).exec(inputBlock.text)) } : undefined;
        if (!nested || calls.length > 0 || input) {
          stages.push({ name: stageName, label: stageLabel, enclosingLabel: label, steps: calls, ...(input ? { input } : {}), timeout: stageTimeout, line: child.line });
        }
      } else if (nodeLabel !== undefined) {
        walk(child, nodeLabel, timeout);
      } else if (child.head === 'pipeline') {
        const own = agentOf(child);
        const options = child.children.find((c) => c.head === 'options');
        walk(child, own === undefined || own === null ? undefined : own, options !== undefined && /\btimeout\s*\(/.test(mask(options.text).masked));
      } else {
        walk(child, label, timeout);
      }
    }
  };
  walk(blocks(masked, source)[0]!, undefined, false);
  stages.sort((a, b) => a.line - b.line);
  return { libraries, stages };
}
