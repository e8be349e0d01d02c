// Jenkins label expressions as Jenkins core reads, prints and evaluates them: the lexer and parser
// grammars (LabelExpressionLexer.g4 / LabelExpressionParser.g4), the canonical text Jenkins gives a
// label (Label.getName, LabelExpression.paren/Binary, LabelAtom.escape), and Jenkins.getLabel's lax
// reading. `watch` reads the labels the build queue waits for from this canonical text, so the two
// must agree to the character. Sources are cited in docs/FIDELITY.md.

/** A parsed label, as Jenkins' Label subclasses: an atom, or an operator over labels. */
export type Label =
  | { kind: 'atom'; name: string }
  | { kind: 'not'; operand: Label }
  /** Parentheses the user wrote: Jenkins keeps them, so the canonical text keeps them. */
  | { kind: 'paren'; inner: Label }
  | { kind: BinaryKind; left: Label; right: Label };

type BinaryKind = 'and' | 'or' | 'implies' | 'iff';

/** A label expression Jenkins' parser would refuse; `column` counts from 0, as ANTLR's `line 1:N`. */
export class LabelExpressionError extends Error {
  readonly expression: string;
  readonly column: number;

  constructor(expression: string, column: number, problem: string) {
    super(`the label expression '${expression}' cannot be read at 1:${column}: ${problem}`);
    this.name = 'LabelExpressionError';
    this.expression = expression;
    this.column = column;
  }
}

// --- Lexer -------------------------------------------------------------------------------------

type TokenKind = 'and' | 'or' | 'not' | 'implies' | 'iff' | 'lparen' | 'rparen' | 'atom' | 'string' | 'end';
interface Token {
  kind: TokenKind;
  /** The atom's name (string literals already unescaped); the operator's text otherwise. */
  text: string;
  column: number;
}

const tokenWords: Record<TokenKind, string> = {
  and: "'&&'",
  or: "'||'",
  not: "'!'",
  implies: "'->'",
  iff: "'<->'",
  lparen: "'('",
  rparen: "')'",
  atom: 'a label',
  string: 'a label',
  end: 'the end',
};

/** Characters that end an atom (IDENTIFIER_PART's exclusions); '-' ends it only before '>'. */
const notInAtom = new Set(['&', '|', '!', '<', '>', '(', ')', ' ', '\t', '"', "'", '-']);
/** The escapes STRINGLITERAL accepts after a backslash, and what QuotedStringTokenizer.unquote makes of them. */
const stringEscapes: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', "'": "'", '\\': '\\' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fixed: Array<[string, TokenKind]> = [
    ['&&', 'and'],
    ['||', 'or'],
    ['<->', 'iff'],
    ['->', 'implies'],
    ['!', 'not'],
    ['(', 'lparen'],
    [')', 'rparen'],
  ];
  scan: while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t') {
      i += 1;
      continue;
    }
    for (const [word, kind] of fixed) {
      if (text.startsWith(word, i)) {
        tokens.push({ kind, text: word, column: i });
        i += word.length;
        continue scan;
      }
    }
    if (c === '"') {
      const start = i;
      let name = '';
      i += 1;
      for (;;) {
        const d = text[i];
        if (d === undefined || d === '\r' || d === '\n') {
          throw new LabelExpressionError(text, start, `the quoted label starting here is not closed on its line`);
        }
        if (d === '"') break;
        if (d === '\\') {
          const escaped = stringEscapes[text[i + 1] ?? ''];
          if (escaped === undefined) throw new LabelExpressionError(text, start, `'\\${text[i + 1] ?? ''}' is not an escape Jenkins knows (\\b \\t \\n \\f \\r \\" \\' \\\\)`);
          name += escaped;
          i += 2;
          continue;
        }
        name += d;
        i += 1;
      }
      i += 1;
      tokens.push({ kind: 'string', text: name, column: start });
      continue;
    }
    const start = i;
    while (i < text.length) {
      const d = text[i] as string;
      if (d === '-' ? text[i + 1] === '>' : notInAtom.has(d)) break;
      i += 1;
    }
    if (i === start) throw new LabelExpressionError(text, start, `'${c}' is neither a label character nor an operator (&&, ||, !, ->, <->, parentheses)`);
    tokens.push({ kind: 'atom', text: text.slice(start, i), column: start });
  }
  tokens.push({ kind: 'end', text: '', column: text.length });
  return tokens;
}

// --- Parser ------------------------------------------------------------------------------------

/**
 * Parses a label expression exactly as Jenkins' Label.parseExpression does, or throws
 * LabelExpressionError where Jenkins' parser would fail. The grammar, loosest first:
 * `<->` (chains, left to right), `->` (at most one: Jenkins refuses `a->b->c`), `||`, `&&`, then
 * `!` (once, before an atom or a parenthesis: Jenkins refuses `!!a`).
 */
export function parseLabelExpression(text: string): Label {
  const tokens = tokenize(text);
  let at = 0;
  const peek = (): Token => tokens[at] as Token;
  const unexpected = (expected: string): never => {
    const t = peek();
    throw new LabelExpressionError(text, t.column, `found ${t.kind === 'end' ? 'the end' : `'${t.text}'`} where ${expected} was expected`);
  };
  const chain = (kind: BinaryKind, next: () => Label, repeat: boolean) => (): Label => {
    let left = next();
    while (peek().kind === kind) {
      at += 1;
      left = { kind, left, right: next() };
      if (!repeat) break;
    }
    return left;
  };
  const operand = (): Label => {
    const t = peek();
    if (t.kind === 'lparen') {
      at += 1;
      const inner = iff();
      if (peek().kind !== 'rparen') unexpected("')'");
      at += 1;
      return { kind: 'paren', inner };
    }
    if (t.kind === 'atom' || t.kind === 'string') {
      at += 1;
      return { kind: 'atom', name: t.text };
    }
    return unexpected("'(' or a label");
  };
  const not = (): Label => {
    if (peek().kind !== 'not') return operand();
    at += 1;
    return { kind: 'not', operand: operand() };
  };
  const and = chain('and', not, true);
  const or = chain('or', and, true);
  const implies = chain('implies', or, false);
  const iff = chain('iff', implies, true);
  const label = iff();
  if (peek().kind !== 'end') {
    const expected = (['and', 'or', 'implies', 'iff'] as TokenKind[]).map((k) => tokenWords[k]).join(', ');
    unexpected(`the end or one of ${expected}`);
  }
  return label;
}

/**
 * The label Jenkins means by `text` where it takes a label from a person or a job (Jenkins.getLabel):
 * a label that already exists under exactly that name (here: one of `knownAtoms`, the labels the
 * nodes carry) wins; otherwise one pair of enclosing quotes is removed and the rest parsed as an
 * expression; what does not parse is taken as one atom, for compatibility.
 */
export function readLabel(text: string, knownAtoms: ReadonlySet<string> = new Set()): Label {
  if (knownAtoms.has(text)) return { kind: 'atom', name: text };
  const unquoted = unquote(text);
  if (knownAtoms.has(unquoted)) return { kind: 'atom', name: unquoted };
  try {
    return parseLabelExpression(unquoted);
  } catch (error) {
    if (error instanceof LabelExpressionError) return { kind: 'atom', name: unquoted };
    throw error;
  }
}

/** QuotedStringTokenizer.unquote: strips one pair of matching '"' or "'" and reads the escapes inside. */
function unquote(text: string): string {
  if (text.length < 2) return text;
  const first = text[0];
  if (first !== text[text.length - 1] || (first !== '"' && first !== "'")) return text;
  let out = '';
  for (let i = 1; i < text.length - 1; i++) {
    const c = text[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    i += 1;
    const e = text[i];
    if (e === undefined || i === text.length - 1) break; // a trailing backslash escapes nothing
    if (e === 'u') {
      const hex = text.slice(i + 1, i + 5);
      if (i + 4 >= text.length - 1 || !/^[0-9a-fA-F]{4}$/.test(hex)) throw new LabelExpressionError(text, i, 'an incomplete \\u escape');
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
      continue;
    }
    out += ({ n: '\n', r: '\r', t: '\t', f: '\f', b: '\b' } as Record<string, string>)[e] ?? e;
  }
  return out;
}

// --- Canonical text ----------------------------------------------------------------------------

/** LabelOperatorPrecedence's order: the tighter an operator binds, the lower its rank. */
const rank = { atom: 0, paren: 0, not: 1, and: 2, or: 3, implies: 4, iff: 5 } as const;
const operatorText: Record<BinaryKind, string> = { and: '&&', or: '||', implies: '->', iff: '<->' };

/**
 * The text Jenkins gives this label (Label.getName): what it prints in the queue's `why`, on the
 * label's page and in the API. An atom is its bare name; an expression is written without spaces,
 * with atoms quoted where LabelAtom.escape quotes them, the user's parentheses kept, and
 * parentheses added only where the tree needs them.
 */
export function labelName(label: Label): string {
  return label.kind === 'atom' ? label.name : labelExpressionText(label);
}

/** Label.getExpression: like labelName, but an atom that needs quoting is quoted. */
export function labelExpressionText(label: Label): string {
  switch (label.kind) {
    case 'atom':
      return escapeAtom(label.name);
    case 'paren':
      return `(${labelExpressionText(label.inner)})`;
    case 'not':
      return `!${parenthesized('not', label.operand)}`;
    default:
      return `${parenthesized(label.kind, label.left)}${operatorText[label.kind]}${parenthesized(label.kind, label.right)}`;
  }
}

function parenthesized(operator: keyof typeof rank, operand: Label): string {
  const text = labelExpressionText(operand);
  return rank[operator] < rank[operand.kind] ? `(${text})` : text;
}

/**
 * LabelAtom.escape: an atom whose name Jenkins.checkGoodName refuses, or that holds a space, a tab,
 * a newline or a parenthesis, is written in double quotes (QuotedStringTokenizer.quote).
 */
function escapeAtom(name: string): string {
  return atomNeedsQuotes(name) ? quote(name) : name;
}

function atomNeedsQuotes(name: string): boolean {
  if (name === '') return true;
  const trimmed = name.trim();
  if (trimmed === '.' || trimmed === '..' || trimmed.endsWith('.')) return true;
  for (const c of name) {
    const code = c.charCodeAt(0);
    // Character.isISOControl: U+0000-U+001F and U+007F-U+009F.
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
    if ('?*/\\%!@#$^&|<>[]:;'.includes(c) || ' ()\t\n'.includes(c)) return true;
  }
  return false;
}

function quote(name: string): string {
  const escapes: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\f': '\\f', '\b': '\\b' };
  return `"${[...name].map((c) => escapes[c] ?? c).join('')}"`;
}

// --- Evaluation --------------------------------------------------------------------------------

/**
 * Whether a node carrying `labels` may run work that asks for `label` (Label.matches). A node also
 * carries its own name as a label in Jenkins; pass it among `labels` when that should count.
 */
export function labelMatches(label: Label, labels: ReadonlySet<string> | readonly string[]): boolean {
  const have = labels instanceof Set ? labels : new Set(labels as readonly string[]);
  const holds = (l: Label): boolean => {
    switch (l.kind) {
      case 'atom':
        return have.has(l.name);
      case 'paren':
        return holds(l.inner);
      case 'not':
        return !holds(l.operand);
      case 'and':
        return holds(l.left) && holds(l.right);
      case 'or':
        return holds(l.left) || holds(l.right);
      case 'implies':
        return !holds(l.left) || holds(l.right);
      case 'iff':
        return holds(l.left) === holds(l.right);
    }
  };
  return holds(label);
}

/** Every atom the label names (Label.listAtoms), in order of appearance, once each. */
export function labelAtoms(label: Label): string[] {
  const seen = new Set<string>();
  const walk = (l: Label): void => {
    if (l.kind === 'atom') seen.add(l.name);
    else if (l.kind === 'not') walk(l.operand);
    else if (l.kind === 'paren') walk(l.inner);
    else {
      walk(l.left);
      walk(l.right);
    }
  };
  walk(label);
  return [...seen];
}
