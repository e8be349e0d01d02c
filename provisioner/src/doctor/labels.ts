// Jenkins label expressions (`awsDeploy && python`, `docker || (linux && !windows)`) and whether
// an agent with a given set of labels satisfies one, as Jenkins' Label.matches does.

type Expression =
  | { kind: 'atom'; name: string }
  | { kind: 'not'; operand: Expression }
  | { kind: 'and' | 'or' | 'implies' | 'iff'; left: Expression; right: Expression };

function tokens(text: string): string[] {
  const found: string[] = [];
  const pattern = /\s*(&&|\|\||->|<->|!|\(|\)|"(?:[^"\\]|\\.)*"|[^\s&|!()<>"]+)/gy;
  let match: RegExpExecArray | null;
  let at = 0;
  while ((match = pattern.exec(text)) !== null) {
    found.push(match[1] as string);
    at = pattern.lastIndex;
  }
  if (text.slice(at).trim() !== '') throw new Error(`cannot read the label expression '${text}' at '${text.slice(at).trim()}'`);
  return found;
}

/** Parses a label expression; throws with the expression named when it is malformed. */
export function parseLabelExpression(text: string): Expression {
  const list = tokens(text);
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`cannot read the label expression '${text}': ${why}`);
  };
  // Precedence, loosest first, as in Jenkins' grammar: <->, ->, ||, &&, !.
  const binary = (ops: string[], kinds: ('iff' | 'implies' | 'or' | 'and')[], next: () => Expression) => (): Expression => {
    let left = next();
    while (i < list.length && ops.includes(list[i] as string)) {
      const kind = kinds[ops.indexOf(list[i++] as string)] as 'iff' | 'implies' | 'or' | 'and';
      left = { kind, left, right: next() };
    }
    return left;
  };
  const unary = (): Expression => {
    const token = list[i++];
    if (token === undefined) return fail('it ends too early');
    if (token === '!') return { kind: 'not', operand: unary() };
    if (token === '(') {
      const inner = iff();
      if (list[i++] !== ')') fail('a ( is not closed');
      return inner;
    }
    if (['&&', '||', '->', '<->', ')'].includes(token)) return fail(`'${token}' where a label was expected`);
    return { kind: 'atom', name: token.startsWith('"') ? token.slice(1, -1).replace(/\\(.)/g, '$1') : token };
  };
  const and = binary(['&&'], ['and'], unary);
  const or = binary(['||'], ['or'], and);
  const implies = binary(['->'], ['implies'], or);
  const iff = binary(['<->'], ['iff'], implies);
  if (list.length === 0) fail('it is empty');
  const expression = iff();
  if (i < list.length) fail(`unexpected '${list[i]}'`);
  return expression;
}

/** Whether an agent carrying `labels` may run work asking for `expression`. */
export function labelsSatisfy(expression: string, labels: readonly string[]): boolean {
  const have = new Set(labels);
  const evaluate = (e: Expression): boolean => {
    switch (e.kind) {
      case 'atom': return have.has(e.name);
      case 'not': return !evaluate(e.operand);
      case 'and': return evaluate(e.left) && evaluate(e.right);
      case 'or': return evaluate(e.left) || evaluate(e.right);
      case 'implies': return !evaluate(e.left) || evaluate(e.right);
      case 'iff': return evaluate(e.left) === evaluate(e.right);
    }
  };
  return evaluate(parseLabelExpression(expression));
}
