// Groovy source literals for values the generator writes into the library's steps: every value
// from fleet.yaml goes through here, so no value can end a string early and become code.

export type GroovyValue = string | number | boolean | null | GroovyValue[] | { [key: string]: GroovyValue };

/** A single-quoted Groovy string (no `${}` interpolation), with `\`, `'` and control characters escaped. */
export function groovyString(text: string): string {
  let out = "'";
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

/**
 * Text to place inside a double-quoted Groovy string (a GString) as it is: `\\`, `"` and `$` escaped,
 * so a value can never end the string or interpolate. Control characters as in groovyString.
 */
export function groovyGStringText(text: string): string {
  return groovyString(text).slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"').replace(/\$/g, '\\$');
}

/** A Groovy literal: strings single-quoted, lists `[a, b]`, maps `[key: value]` (`[:]` when empty). */
export function groovyLiteral(value: GroovyValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return groovyString(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`groovyLiteral: only integers are supported, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(groovyLiteral).join(', ')}]`;
  const entries = Object.entries(value);
  if (entries.length === 0) return '[:]';
  return `[${entries.map(([k, v]) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : groovyString(k)}: ${groovyLiteral(v)}`).join(', ')}]`;
}

/** `text` as `// ` comment lines of at most `width` characters. */
export function groovyComment(text: string, width = 100): string {
  const lines: string[] = [];
  let line = '//';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.length + 1 + word.length > width && line !== '//') {
      lines.push(line);
      line = '//';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}

/**
 * A long string as single-quoted pieces joined by `+` on lines of their own, so generated lines
 * stay short; `indent` is the continuation lines' indentation.
 */
export function groovyWrapped(text: string, indent = '      ', width = 80): string {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const cut = rest.lastIndexOf(' ', width);
    const at = cut > 0 ? cut + 1 : width;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  pieces.push(rest);
  return pieces.map(groovyString).join(` +\n${indent}`);
}
