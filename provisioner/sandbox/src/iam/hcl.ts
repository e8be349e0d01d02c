// Renders an `aws_iam_policy_document` data source of a Terraform module into the JSON policy the
// aws provider would produce, from the module's own .tf files (parsed by @cdktf/hcl2json) and the
// values of its variables and data sources. Only the expressions the IAM modules use are
// understood (templates, references, `for` lists, `concat`, `== null ? :`); anything else is an
// error naming the expression, never a silent guess.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
  /** Only in resource policies (a KMS key policy). */
  Principal?: Record<string, string | string[]>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** What a module's references resolve to besides `var.` and `local.`: `data.TYPE.NAME` and `module.NAME` objects. */
export interface ModuleInputs {
  variables: Record<string, Value>;
  /** e.g. { aws_caller_identity: { current: { account_id: '123456789012' } } } */
  data: Record<string, Record<string, Record<string, Value>>>;
  /** Outputs of child modules the policy refers to, e.g. { key: { arn: '...' } }. */
  modules?: Record<string, Record<string, Value>>;
}

type Block = Record<string, unknown>;

export class HclError extends Error {}

/** A Terraform module read once: its variables, locals and data blocks, as hcl2json gives them. */
export class TerraformModule {
  private constructor(
    readonly dir: string,
    private readonly variables: Record<string, Block>,
    private readonly locals: Record<string, unknown>,
    private readonly data: Record<string, Record<string, Block>>,
  ) {}

  static async read(dir: string): Promise<TerraformModule> {
    const variables: Record<string, Block> = {};
    const locals: Record<string, unknown> = {};
    const data: Record<string, Record<string, Block>> = {};
    const files = readdirSync(dir).filter((f) => f.endsWith('.tf')).sort();
    if (files.length === 0) throw new HclError(`${dir}: no .tf files`);
    for (const file of files) {
      const parsed = (await parse(file, readFileSync(join(dir, file), 'utf8'))) as Record<string, unknown>;
      for (const [name, blocks] of Object.entries((parsed.variable ?? {}) as Record<string, Block[]>)) variables[name] = blocks[0]!;
      for (const block of (parsed.locals ?? []) as Block[]) Object.assign(locals, block);
      for (const [type, byName] of Object.entries((parsed.data ?? {}) as Record<string, Record<string, Block[]>>)) {
        for (const [name, blocks] of Object.entries(byName)) (data[type] ??= {})[name] = blocks[0]!;
      }
    }
    return new TerraformModule(dir, variables, locals, data);
  }

  /** A scope for evaluating this module's expressions with these inputs. */
  scope(inputs: ModuleInputs): Scope {
    const vars: Record<string, Value> = {};
    for (const [name, block] of Object.entries(this.variables)) {
      if (name in inputs.variables) vars[name] = inputs.variables[name]!;
      else if ('default' in block) vars[name] = block.default as Value;
      else throw new HclError(`${this.dir}: variable ${name} has no default and no value was given`);
    }
    for (const name of Object.keys(inputs.variables)) {
      if (!(name in this.variables)) throw new HclError(`${this.dir}: no variable ${name} to give a value to`);
    }
    return new Scope(this.dir, vars, this.locals, inputs);
  }

  /** The `data "aws_iam_policy_document" NAME` block rendered as the aws provider renders it. */
  policyDocument(name: string, inputs: ModuleInputs): PolicyDocument {
    const block = this.data.aws_iam_policy_document?.[name];
    if (!block) throw new HclError(`${this.dir}: no data "aws_iam_policy_document" "${name}"`);
    const scope = this.scope(inputs);
    for (const key of Object.keys(block)) {
      if (!['statement', 'dynamic'].includes(key)) throw new HclError(`${this.dir}: aws_iam_policy_document.${name}: the sandbox does not render the argument ${key}`);
    }
    const statements: PolicyStatement[] = [];
    for (const s of (block.statement ?? []) as Block[]) statements.push(renderStatement(s, scope, `${name}.statement`));
    for (const [label, dynamics] of Object.entries((block.dynamic ?? {}) as Record<string, Block[]>)) {
      if (label !== 'statement') throw new HclError(`${this.dir}: aws_iam_policy_document.${name}: dynamic "${label}" is not understood`);
      for (const dynamic of dynamics) {
        const iterator = typeof dynamic.iterator === 'string' ? dynamic.iterator : label;
        const collection = scope.evaluate(dynamic.for_each);
        const items: [Value, Value][] = Array.isArray(collection) ? collection.map((v, i) => [i, v]) : isObject(collection) ? Object.entries(collection) : [];
        if (!Array.isArray(collection) && !isObject(collection)) throw new HclError(`${this.dir}: dynamic "statement" for_each must be a list, set or map`);
        for (const [key, value] of items) {
          const inner = scope.with({ [iterator]: { key, value } });
          statements.push(renderStatement(((dynamic.content as Block[])[0] ?? {}) as Block, inner, `${name}.dynamic.statement`));
        }
      }
    }
    return { Version: '2012-10-17', Statement: statements };
  }
}

/** One value, or a list of them, as the provider writes a single-element list: the element alone. */
function collapse(values: string[]): string | string[] {
  return values.length === 1 ? values[0]! : values;
}

function strings(value: Value, where: string): string[] {
  const list = Array.isArray(value) ? value.flat(Infinity as 1) : [value];
  return list.map((v) => {
    if (typeof v !== 'string') throw new HclError(`${where}: expected strings, found ${JSON.stringify(v)}`);
    return v;
  });
}

function renderStatement(block: Block, scope: Scope, where: string): PolicyStatement {
  const known = new Set(['sid', 'effect', 'actions', 'not_actions', 'resources', 'not_resources', 'condition', 'principals']);
  for (const key of Object.keys(block)) if (!known.has(key)) throw new HclError(`${scope.dir}: ${where}: the sandbox does not render ${key}`);
  const list = (key: string) => (block[key] === undefined ? undefined : strings(scope.evaluate(block[key]), `${where}.${key}`));
  const sid = block.sid === undefined ? undefined : scope.evaluate(block.sid);
  const effect = block.effect === undefined ? 'Allow' : scope.evaluate(block.effect);
  if (effect !== 'Allow' && effect !== 'Deny') throw new HclError(`${scope.dir}: ${where}: effect must be Allow or Deny, found ${JSON.stringify(effect)}`);
  const statement: PolicyStatement = { ...(typeof sid === 'string' && sid !== '' ? { Sid: sid } : {}), Effect: effect };
  for (const [key, field] of [['actions', 'Action'], ['not_actions', 'NotAction'], ['resources', 'Resource'], ['not_resources', 'NotResource']] as const) {
    const values = list(key);
    if (values) statement[field] = collapse(values);
  }
  const principals = (block.principals ?? []) as Block[];
  if (principals.length > 0) {
    const byType: Record<string, string[]> = {};
    for (const p of principals) {
      const type = scope.evaluate(p.type);
      if (typeof type !== 'string') throw new HclError(`${scope.dir}: ${where}: principals need a type`);
      (byType[type] ??= []).push(...strings(scope.evaluate(p.identifiers), `${where}.principals`));
    }
    statement.Principal = Object.fromEntries(Object.entries(byType).map(([type, ids]) => [type, collapse(ids)]));
  }
  const conditions = (block.condition ?? []) as Block[];
  if (conditions.length > 0) {
    const byTest: Record<string, Record<string, string | string[]>> = {};
    for (const c of conditions) {
      const test = scope.evaluate(c.test);
      const variable = scope.evaluate(c.variable);
      if (typeof test !== 'string' || typeof variable !== 'string') throw new HclError(`${scope.dir}: ${where}: a condition needs a test and a variable`);
      const values = strings(scope.evaluate(c.values), `${where}.condition ${variable}`);
      const previous = byTest[test]?.[variable];
      (byTest[test] ??= {})[variable] = collapse(previous === undefined ? values : [...strings(previous, where), ...values]);
    }
    statement.Condition = byTest;
  }
  return statement;
}

function isObject(v: Value | undefined): v is { [key: string]: Value } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Where names resolve: var, local (evaluated on first use), data, module, and iterator/loop names. */
export class Scope {
  private readonly localValues = new Map<string, Value>();
  private readonly evaluating = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly vars: Record<string, Value>,
    private readonly locals: Record<string, unknown>,
    private readonly inputs: ModuleInputs,
    private readonly names: Record<string, Value> = {},
    private readonly parent?: Scope,
  ) {}

  with(names: Record<string, Value>): Scope {
    return new Scope(this.dir, this.vars, this.locals, this.inputs, { ...this.names, ...names }, this.parent ?? this);
  }

  /** The value of `local.NAME`. */
  local(name: string): Value {
    const root = this.parent ?? this;
    if (root !== this) return root.local(name);
    if (this.localValues.has(name)) return this.localValues.get(name)!;
    if (!(name in this.locals)) throw new HclError(`${this.dir}: no local ${name}`);
    if (this.evaluating.has(name)) throw new HclError(`${this.dir}: local ${name} refers to itself`);
    this.evaluating.add(name);
    const value = this.evaluate(this.locals[name]);
    this.evaluating.delete(name);
    this.localValues.set(name, value);
    return value;
  }

  /** An hcl2json value: a template string ("${...}" parts), a list or object of them, or a literal. */
  evaluate(raw: unknown): Value {
    if (typeof raw === 'string') return new ExpressionParser(raw, this).template();
    if (Array.isArray(raw)) return raw.map((x) => this.evaluate(x));
    if (raw !== null && typeof raw === 'object') return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, this.evaluate(v)]));
    return raw as Value;
  }

  resolve(name: string): Value | ((attribute: string) => Value) {
    if (name in this.names) return this.names[name]!;
    switch (name) {
      case 'var': return (attribute) => {
        if (!(attribute in this.vars)) throw new HclError(`${this.dir}: no variable ${attribute}`);
        return this.vars[attribute]!;
      };
      case 'local': return (attribute) => this.local(attribute);
      case 'data': return this.inputs.data as unknown as Value;
      case 'module': return (this.inputs.modules ?? {}) as unknown as Value;
      default: throw new HclError(`${this.dir}: unknown name ${name}`);
    }
  }
}

type Token = { kind: 'punct' | 'ident' | 'number' | 'quote' | 'end'; text: string };

/**
 * A small recursive-descent reader of HCL template strings and the expressions in them. The text
 * is hcl2json's rendering of an attribute: literal text with `${ expression }` parts, `$${` an
 * escaped `${`; strings inside an expression are quoted templates again.
 */
class ExpressionParser {
  private pos = 0;

  constructor(private readonly text: string, private readonly scope: Scope) {}

  fail(message: string): never {
    throw new HclError(`${this.scope.dir}: ${message} in ${JSON.stringify(this.text)} (the sandbox's HCL reader knows templates, references, [for ...], concat(), compact() and == null ? :)`);
  }

  /** The whole text as a template: a lone `${expr}` keeps the expression's type, as in HCL. */
  template(): Value {
    const parts = this.templateParts(undefined);
    if (this.pos !== this.text.length) this.fail('unexpected text');
    if (parts.length === 1 && typeof parts[0] !== 'string') return parts[0]!.value;
    return parts.map((p) => (typeof p === 'string' ? p : stringOf(p.value, this))).join('');
  }

  /** Reads literal text and interpolations until `end` (a closing quote) or the end of the text. */
  private templateParts(end: '"' | undefined): (string | { value: Value })[] {
    const parts: (string | { value: Value })[] = [];
    let literal = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (end && c === end) break;
      if (c === '$' && this.text.startsWith('$${', this.pos)) { literal += '${'; this.pos += 3; continue; }
      if (c === '$' && this.text.startsWith('${', this.pos)) {
        if (literal) parts.push(literal);
        literal = '';
        this.pos += 2;
        const value = this.expression();
        this.skipSpace();
        if (this.text[this.pos] !== '}') this.fail('expected } to close ${');
        this.pos += 1;
        parts.push({ value });
        continue;
      }
      if (end && c === '\\') {
        const next = this.text[this.pos + 1];
        literal += next === 'n' ? '\n' : next === 't' ? '\t' : next ?? '';
        this.pos += 2;
        continue;
      }
      literal += c;
      this.pos += 1;
    }
    if (literal || parts.length === 0) parts.push(literal);
    return parts;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos += 1;
  }

  private peek(): Token {
    this.skipSpace();
    const rest = this.text.slice(this.pos);
    if (rest.length === 0) return { kind: 'end', text: '' };
    const op = /^(==|!=|[[\](),:?.}])/.exec(rest);
    if (op) return { kind: 'punct', text: op[1]! };
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(rest);
    if (ident) return { kind: 'ident', text: ident[0] };
    const number = /^\d+/.exec(rest);
    if (number) return { kind: 'number', text: number[0] };
    if (rest[0] === '"') return { kind: 'quote', text: '"' };
    return this.fail(`unexpected ${JSON.stringify(rest[0])}`);
  }

  private take(text?: string): Token {
    const token = this.peek();
    if (text !== undefined && token.text !== text) this.fail(`expected ${text}, found ${JSON.stringify(token.text)}`);
    this.pos += token.text.length;
    return token;
  }

  expression(): Value {
    const condition = this.equality();
    if (this.peek().text !== '?') return condition;
    this.take('?');
    const whenTrue = this.expression();
    this.take(':');
    const whenFalse = this.expression();
    if (typeof condition !== 'boolean') this.fail('a condition must be true or false');
    return condition ? whenTrue : whenFalse;
  }

  private equality(): Value {
    const left = this.postfix();
    const op = this.peek().text;
    if (op !== '==' && op !== '!=') return left;
    this.take();
    const right = this.postfix();
    const same = JSON.stringify(left) === JSON.stringify(right);
    return op === '==' ? same : !same;
  }

  private postfix(): Value {
    let value: Value | ((attribute: string) => Value) = this.primary();
    for (;;) {
      const next = this.peek().text;
      if (next === '.') {
        this.take('.');
        const attribute = this.take().text;
        if (typeof value === 'function') value = value(attribute);
        else if (isObject(value) && attribute in value) value = value[attribute]!;
        else this.fail(`no attribute ${attribute}`);
      } else if (next === '[' && typeof value !== 'function') {
        this.take('[');
        const index = this.expression();
        this.take(']');
        if (Array.isArray(value) && typeof index === 'number' && index < value.length) value = value[index]!;
        else if (isObject(value) && typeof index === 'string' && index in value) value = value[index]!;
        else this.fail(`no element ${JSON.stringify(index)}`);
      } else break;
    }
    if (typeof value === 'function') this.fail('a reference needs an attribute');
    return value;
  }

  private primary(): Value | ((attribute: string) => Value) {
    const token = this.peek();
    if (token.kind === 'quote') {
      this.pos += 1;
      const parts = this.templateParts('"');
      if (this.text[this.pos] !== '"') this.fail('unterminated string');
      this.pos += 1;
      return parts.map((p) => (typeof p === 'string' ? p : stringOf(p.value, this))).join('');
    }
    if (token.kind === 'number') return Number(this.take().text);
    if (token.text === '(') {
      this.take('(');
      const value = this.expression();
      this.take(')');
      return value;
    }
    if (token.text === '[') return this.list();
    if (token.kind !== 'ident') this.fail(`unexpected ${JSON.stringify(token.text)}`);
    this.take();
    if (token.text === 'null') return null;
    if (token.text === 'true') return true;
    if (token.text === 'false') return false;
    if (this.peek().text === '(') return this.call(token.text);
    return this.scope.resolve(token.text);
  }

  private list(): Value {
    this.take('[');
    if (this.peek().text === 'for') {
      this.take('for');
      const name = this.take().text;
      this.take('in');
      const collection = this.expression();
      this.take(':');
      if (!Array.isArray(collection)) this.fail('a for expression needs a list');
      const start = this.pos;
      const out: Value[] = [];
      // Each element evaluates the body again with the loop name bound.
      for (const item of collection) {
        const inner = new ExpressionParser(this.text, this.scope.with({ [name]: item }));
        inner.pos = start;
        out.push(inner.expression());
      }
      this.pos = this.endOfExpression(start);
      if (this.peek().text === 'if') this.fail('for ... if is not understood');
      this.take(']');
      return out;
    }
    const items: Value[] = [];
    while (this.peek().text !== ']') {
      items.push(this.expression());
      if (this.peek().text === ',') this.take(',');
      else break;
    }
    this.take(']');
    return items;
  }

  /** Where the expression starting at `from` ends (before a `]`, `)`, `,`, `:` or `}` at its own depth), without evaluating it. */
  private endOfExpression(from: number): number {
    let depth = 0;
    let i = from;
    while (i < this.text.length) {
      const c = this.text[i]!;
      if (c === '"') {
        i += 1;
        while (i < this.text.length && this.text[i] !== '"') i += this.text[i] === '\\' ? 2 : 1;
      } else if (c === '[' || c === '(' || c === '{') depth += 1;
      else if (c === ']' || c === ')' || c === '}') {
        if (depth === 0) return i;
        depth -= 1;
      } else if (depth === 0 && (c === ',' || c === ':')) return i;
      i += 1;
    }
    return i;
  }

  private call(name: string): Value {
    this.take('(');
    const args: Value[] = [];
    while (this.peek().text !== ')') {
      args.push(this.expression());
      if (this.peek().text === ',') this.take(',');
      else break;
    }
    this.take(')');
    if (name === 'concat') {
      if (!args.every(Array.isArray)) this.fail('concat takes lists');
      return (args as Value[][]).flat(1);
    }
    if (name === 'compact') {
      // Terraform's compact: the list of strings without its nulls and empty strings.
      const [list] = args;
      if (args.length !== 1 || !Array.isArray(list) || !list.every((v) => v === null || typeof v === 'string')) this.fail('compact takes one list of strings');
      return (list as (string | null)[]).filter((v) => v !== null && v !== '');
    }
    return this.fail(`the function ${name}() is not understood`);
  }
}

function stringOf(value: Value, where: ExpressionParser): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return where.fail(`a ${value === null ? 'null' : Array.isArray(value) ? 'list' : 'map'} cannot be interpolated into a string`);
}
