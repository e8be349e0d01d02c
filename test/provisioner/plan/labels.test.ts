import { describe, expect, it } from 'vitest';
import {
  LabelExpressionError,
  labelAtoms,
  labelExpressionText,
  labelMatches,
  labelName,
  parseLabelExpression,
  readLabel,
  type Label,
} from '../../../provisioner/src/plan/labels.ts';

const atom = (name: string): Label => ({ kind: 'atom', name });

describe('label expressions are printed as Jenkins names them', () => {
  // Jenkins' own cases (LabelExpressionTest.parser1, parser2): [canonical, as typed].
  it.each([
    ['foo', 'foo'],
    ['32bit.dot', '32bit.dot'],
    ['foo||bar', 'foo || bar'],
    ['foo||bar&&zot', 'foo||bar&&zot'],
    ['foo||(bar&&zot)', 'foo||(bar&&zot)'],
    ['(foo||bar)&&zot', '(foo||bar)&&zot'],
    ['(foo||bar)&&zot', '  ( foo || bar )  && zot'],
    ['foo->bar', 'foo ->\tbar'],
    ['foo->bar', 'foo -> bar'],
    ['foo->bar', '   foo \t\t ->   bar \t '],
    ['!foo<->bar', '!foo <-> bar'],
    ['aaa&&bbb&&ccc', 'aaa&&bbb&&ccc'],
    // and ours
    ['awsDeploy&&python', 'awsDeploy && python'],
    ['a<->b<->c', 'a <-> b <-> c'],
    ['!(a||b)', '! ( a || b )'],
    ['((a))', '((a))'],
    ['a&&b->c||d<->e', 'a && b -> c || d <-> e'],
    ['"my label"&&linux', '"my label" && linux'],
    ['linux', '"linux"'],
    // A double quote alone does not make LabelAtom.escape quote the atom, so this does not read back.
    ['a"b||c', '"a\\"b" || c'],
    ['"x:y"&&z', '"x:y" && z'],
    ['"trailing."&&z', '"trailing." && z'],
  ])('%s from %j', (canonical, typed) => {
    expect(labelName(parseLabelExpression(typed))).toBe(canonical);
  });

  it('prints a quoted atom on its own by its bare name, and quotes it inside an expression', () => {
    const label = parseLabelExpression('"my label"');
    expect(labelName(label)).toBe('my label');
    expect(labelExpressionText(label)).toBe('"my label"');
  });

  // LabelExpressionTest.composite: parentheses exactly where the tree needs them.
  it.each<[string, Label]>([
    ['!!x', { kind: 'not', operand: { kind: 'not', operand: atom('x') } }],
    ['(x||x)&&x', { kind: 'and', left: { kind: 'or', left: atom('x'), right: atom('x') }, right: atom('x') }],
    ['x&&x||x', { kind: 'or', left: { kind: 'and', left: atom('x'), right: atom('x') }, right: atom('x') }],
    // Jenkins prints this, though its own parser refuses to chain '->'.
    ['x->x->x', { kind: 'implies', left: atom('x'), right: { kind: 'implies', left: atom('x'), right: atom('x') } }],
    ['!(x&&y)', { kind: 'not', operand: { kind: 'and', left: atom('x'), right: atom('y') } }],
  ])('a tree built in code prints as %s', (canonical, label) => {
    expect(labelName(label)).toBe(canonical);
  });

  it('reads back its own canonical text to the same tree', () => {
    for (const text of ['a&&(b||!c)->d<->e', '"x y"||(z)', '!a<->b<->c', 'a-b&&-c']) {
      const label = parseLabelExpression(text);
      expect(parseLabelExpression(labelName(label))).toEqual(label);
    }
  });
});

describe('label expressions are tokenized as Jenkins lexes them', () => {
  // LabelExpressionTest: dashes belong to atoms except right before '>' (JENKINS-66613).
  it.each<[string, Label]>([
    ['a-b', atom('a-b')],
    ['--a----b-c-', atom('--a----b-c-')],
    ['--', atom('--')],
    ['-', atom('-')],
    ['-1', atom('-1')],
    ['-abc-', atom('-abc-')],
    ['a-->b', { kind: 'implies', left: atom('a-'), right: atom('b') }],
    ['a->-b', { kind: 'implies', left: atom('a'), right: atom('-b') }],
    ['a->b', { kind: 'implies', left: atom('a'), right: atom('b') }],
    ['a&&b', { kind: 'and', left: atom('a'), right: atom('b') }],
    ['solaris-x86', atom('solaris-x86')],
    ['x=1,y', atom('x=1,y')],
    ['"tab\\there"', atom('tab\there')],
    ['""', atom('')],
  ])('%j', (text, label) => {
    expect(parseLabelExpression(text)).toEqual(label);
  });
});

describe('Jenkins refuses the same label expressions, at the same column', () => {
  it.each([
    // LabelExpressionTest.parserError: [text, column of Jenkins' "line 1:N"].
    ['foo bar', 4],
    ['foo (bar)', 4],
    ['foo(bar)', 3],
    ['a <- b', 2],
    ['a -< b', 3],
    ['a - b', 2],
    ['->', 0],
    ['-<', 1],
    ['-!', 1],
    // The grammar: `->` does not chain, `!` applies once, to an atom or a parenthesis.
    ['a->b->c', 4],
    ['!!a', 1],
    ['!a&&!!b', 5],
    ['', 0],
    ['(a', 2],
    ['a)', 1],
    ['a&&', 3],
    ['a & b', 2],
    ['a | b', 2],
    ["'a'", 0],
    ['a>b', 1],
    ['"open', 0],
    ['"bad \\q"', 0],
  ])('%j at column %i', (text, column) => {
    let caught: unknown;
    try {
      parseLabelExpression(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LabelExpressionError);
    expect((caught as LabelExpressionError).column).toBe(column);
    expect((caught as Error).message).toContain(`'${text}'`);
  });
});

describe('labels taken from a person or a job are read as Jenkins.getLabel reads them', () => {
  it('takes what does not parse as one atom (LabelExpressionTest.laxParsing)', () => {
    const label = readLabel('lucene.zones.apache.org (Solaris 10)');
    expect(label).toEqual(atom('lucene.zones.apache.org (Solaris 10)'));
    expect(labelExpressionText(label)).toBe('"lucene.zones.apache.org (Solaris 10)"');
  });

  it('takes a name with spaces as one atom (dataCompatibilityWithHostNameWithWhitespace)', () => {
    expect(labelName(readLabel('abc def'))).toBe('abc def');
    expect(labelExpressionText(readLabel('abc def'))).toBe('"abc def"');
    expect(labelName(readLabel('a:b c'))).toBe('a:b c');
  });

  it('removes one pair of enclosing quotes first (LabelExpressionTest.quote)', () => {
    expect(labelName(readLabel('"abc\\\\\\"def"'))).toBe('abc\\"def');
    expect(labelName(readLabel('"label1||label2"'))).toBe('label1||label2');
    expect(readLabel("'linux'")).toEqual(atom('linux'));
  });

  it('prefers a label atom that exists under exactly that name', () => {
    expect(readLabel('x&&y', new Set(['x&&y']))).toEqual(atom('x&&y'));
    expect(readLabel('x&&y')).toEqual({ kind: 'and', left: atom('x'), right: atom('y') });
  });
});

describe('a label expression matches a node as Label.matches does', () => {
  // LabelExpressionTest.queueBehavior1 and 2: nodes "win 32bit", "win 64bit", "linux 32bit", a built-in node.
  const nodes = {
    w32: ['win', '32bit', 'w32'],
    w64: ['win', '64bit', 'w64'],
    l32: ['linux', '32bit', 'l32'],
    builtIn: ['built-in'],
  };
  it.each([
    ['win && 32bit', ['w32']],
    ['win', ['w32', 'w64']],
    ['!win', ['l32', 'builtIn']],
    ['32bit || 64bit', ['w32', 'w64', 'l32']],
    ['win -> 64bit', ['w64', 'l32', 'builtIn']],
    ['win <-> 32bit', ['w32', 'builtIn']],
    ['linux || win && 64bit', ['w64', 'l32']],
    ['(linux || win) && 64bit', ['w64']],
    ['!linux && !win', ['builtIn']],
    ['w32', ['w32']],
    ['win <-> 32bit <-> linux', ['w64']],
  ])('%s picks %j', (text, expected) => {
    const label = parseLabelExpression(text);
    const picked = Object.entries(nodes)
      .filter(([, labels]) => labelMatches(label, labels))
      .map(([name]) => name);
    expect(picked).toEqual(expected);
  });

  it('evaluates every operator over every pair of truth values', () => {
    const truth: Array<[string, (a: boolean, b: boolean) => boolean]> = [
      ['a&&b', (a, b) => a && b],
      ['a||b', (a, b) => a || b],
      ['a->b', (a, b) => !a || b],
      ['a<->b', (a, b) => a === b],
      ['!a&&b', (a, b) => !a && b],
      ['!(a&&b)', (a, b) => !(a && b)],
    ];
    for (const [text, expected] of truth) {
      for (const a of [false, true]) {
        for (const b of [false, true]) {
          const labels = [...(a ? ['a'] : []), ...(b ? ['b'] : [])];
          expect(labelMatches(parseLabelExpression(text), labels), `${text} with a=${a} b=${b}`).toBe(expected(a, b));
        }
      }
    }
  });

  it('lists the atoms an expression names', () => {
    expect(labelAtoms(parseLabelExpression('a&&(b||!a)->"c d"'))).toEqual(['a', 'b', 'c d']);
  });
});
