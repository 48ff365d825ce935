import { ParseError } from '../../core/errors.ts';

/**
 * A reader for the S-expressions xend prints (`xm list -l`, tools/python/xen/xend/sxp.py + PrettyPrint.py).
 *
 * xend writes a list as `(a b c)` (pretty-printed over lines), an atom bare when it only holds letters, digits and
 * `.-_:/~@` (an empty string therefore prints as nothing: `(bootloader )`), and anything else as Python's repr:
 * `'root=/dev/xvda1 ro'`, `"it's"`, with `\\ \' \n \t \xhh` escapes (bytes, here decoded as UTF-8).
 *
 * The reader is stricter than xend's own: what xend never writes is a ParseError naming the line, never a guess —
 * an unclosed list (truncated output), a `)` with no list open, an unterminated string (a quoted string never
 * spans lines in xend's output), an unknown escape, a quote glued to an atom, a control character.
 */

export interface SxpAtom {
  readonly kind: 'atom';
  /** The atom's text; for a quoted string, its decoded value. */
  readonly value: string;
  /** Whether it was written quoted. */
  readonly quoted: boolean;
  /** 1-based line it starts on. */
  readonly line: number;
}

export interface SxpList {
  readonly kind: 'list';
  readonly items: SxpNode[];
  /** 1-based line of its `(`. */
  readonly line: number;
}

export type SxpNode = SxpAtom | SxpList;

/** The escapes xend's reader knows (sxp.py `escapes`), as byte values. */
const ESCAPES: Readonly<Record<string, number>> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '\\': 92, "'": 39, '"': 34 };

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\v' || c === '\f';
const isControl = (c: string) => {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
};

/** A ParseError pointing at a line of text (its content is quoted in the message). */
export function sxpError(what: string, text: string, message: string, lineNumber: number): ParseError {
  const line = (text.split('\n')[lineNumber - 1] ?? '').replace(/\r$/, '');
  return new ParseError(what, message, line.length > 120 ? `${line.slice(0, 117)}...` : line, lineNumber);
}

/** `(head …)` for a list, the atom's text for an atom: how error messages name a value. */
export function describeSxp(node: SxpNode): string {
  if (node.kind === 'atom') return node.quoted ? JSON.stringify(node.value) : `atom ${JSON.stringify(node.value)}`;
  const head = node.items[0];
  if (!head) return '()';
  return head.kind === 'atom' ? `(${head.value} …)` : '((…) …)';
}

/**
 * Every top-level value of an SXP document, in order (empty input: none). `what` names the document in errors
 * ("xm list -l: …"). Iterative: no nesting depth can overflow the stack.
 */
export function parseSxp(text: string, what = 'sxp'): SxpNode[] {
  const top: SxpNode[] = [];
  const open: SxpList[] = [];
  let line = 1;
  let i = 0;
  const fail = (message: string, at = line): never => {
    throw sxpError(what, text, message, at);
  };
  const add = (node: SxpNode) => (open.at(-1)?.items ?? top).push(node);

  while (i < text.length) {
    const c = text.charAt(i);
    if (c === '\n') {
      line++;
      i++;
    } else if (isSpace(c)) {
      i++;
    } else if (c === '(') {
      const list: SxpList = { kind: 'list', items: [], line };
      add(list);
      open.push(list);
      i++;
    } else if (c === ')') {
      if (!open.pop()) fail("unexpected ')' with no list open");
      i++;
    } else if (c === "'" || c === '"') {
      const start = line;
      const { value, end } = readString(text, i, (message) => fail(message, start));
      add({ kind: 'atom', value, quoted: true, line: start });
      i = end;
      const next = text.charAt(i);
      if (next !== '' && next !== '\n' && next !== '(' && next !== ')' && !isSpace(next))
        fail(`unexpected ${JSON.stringify(next)} right after a quoted string`);
    } else {
      const start = i;
      while (i < text.length) {
        const a = text.charAt(i);
        if (a === '\n' || isSpace(a) || a === '(' || a === ')') break;
        if (a === "'" || a === '"') fail(`a quote inside the unquoted atom ${JSON.stringify(text.slice(start, i + 1))}`);
        if (isControl(a)) fail(`invalid character U+${a.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`);
        i++;
      }
      add({ kind: 'atom', value: text.slice(start, i), quoted: false, line });
    }
  }
  const outer = open[0];
  const inner = open.at(-1);
  if (outer && inner) {
    const innermost = inner === outer ? '' : ` (innermost open list: ${describeSxp(inner)} on line ${inner.line})`;
    fail(`input ended before ${describeSxp(outer)} opened on line ${outer.line} was closed${innermost}: truncated?`, outer.line);
  }
  return top;
}

/** A quoted string starting at text[from] (the quote): its decoded value and the index after the closing quote. */
function readString(text: string, from: number, fail: (message: string) => never): { value: string; end: number } {
  const delim = text.charAt(from);
  const chunks: Buffer[] = [];
  let bytes: number[] = [];
  let plainFrom = from + 1;
  const flushPlain = (to: number) => {
    if (to > plainFrom) {
      if (bytes.length) chunks.push(Buffer.from(bytes));
      bytes = [];
      chunks.push(Buffer.from(text.slice(plainFrom, to), 'utf8'));
    }
  };
  let i = from + 1;
  for (;;) {
    const c = text.charAt(i);
    if (c === '' || c === '\n' || c === '\r') fail(`unterminated string: no closing ${delim} on its line`);
    if (c === delim) {
      flushPlain(i);
      if (bytes.length) chunks.push(Buffer.from(bytes));
      return { value: Buffer.concat(chunks).toString('utf8'), end: i + 1 };
    }
    if (c === '\\') {
      flushPlain(i);
      const e = text.charAt(i + 1);
      const simple = ESCAPES[e];
      if (simple !== undefined) {
        bytes.push(simple);
        i += 2;
      } else if (e === 'x') {
        const hex = text.slice(i + 2, i + 4);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) fail(`bad escape \\x${hex}: expected two hex digits`);
        bytes.push(Number.parseInt(hex, 16));
        i += 4;
      } else if (/^[0-7]$/.test(e)) {
        const oct = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))?.[0] ?? e;
        const value = Number.parseInt(oct, 8);
        if (value > 0xff) fail(`bad escape \\${oct}: out of range`);
        bytes.push(value);
        i += 1 + oct.length;
      } else {
        fail(`unknown escape ${JSON.stringify(`\\${e}`)}`);
      }
      plainFrom = i;
      continue;
    }
    if (isControl(c)) fail(`invalid character U+${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} in a quoted string`);
    i++;
  }
}
