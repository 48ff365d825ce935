import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { ParseError } from '../../core/errors.ts';
import { parseSxp, type SxpNode } from './sxp.ts';

/** Atoms as strings, lists as arrays: what the document says, without positions. */
type Plain = string | Plain[];
const plain = (node: SxpNode): Plain => (node.kind === 'atom' ? node.value : node.items.map(plain));
const read = (text: string) => parseSxp(text, 'test').map(plain);

/** The ParseError a document throws (fails the test when it parses). */
function errorOf(text: string): ParseError {
  try {
    parseSxp(text, 'test');
  } catch (error) {
    if (error instanceof ParseError) return error;
    throw error;
  }
  throw new Error(`parsed without error: ${JSON.stringify(text)}`);
}

describe('parseSxp', () => {
  it('reads nested lists and bare atoms over lines, with the line each value starts on', () => {
    const [domain] = parseSxp('(domain\n    (domid 0)\n    (cpus ((0 1) (2)))\n)\n');
    expect(domain && plain(domain)).toEqual(['domain', ['domid', '0'], ['cpus', [['0', '1'], ['2']]]]);
    expect(domain?.line).toBe(1);
    expect(domain?.kind === 'list' && domain.items.map((n) => n.line)).toEqual([1, 2, 3]);
  });

  it('reads every top-level value in order; empty or blank input is none', () => {
    expect(read('(a) (b)\n(c)')).toEqual([['a'], ['b'], ['c']]);
    expect(read('')).toEqual([]);
    expect(read(' \n\t\r\n')).toEqual([]);
  });

  it('reads an empty string the way xend prints it (nothing) and an empty list', () => {
    expect(read('(bootloader )(cpus (()))')).toEqual([['bootloader'], ['cpus', [[]]]]);
  });

  it('keeps the characters xend leaves bare: paths, colons, MACs, state dashes, exponents, non-ASCII', () => {
    expect(read('(uname phy:/dev/vg0/a:0) (mac aa:00:00:30:8d:9d) (state -b----) (t 1e-05) (n héllo~x@y)')).toEqual([
      ['uname', 'phy:/dev/vg0/a:0'],
      ['mac', 'aa:00:00:30:8d:9d'],
      ['state', '-b----'],
      ['t', '1e-05'],
      ['n', 'héllo~x@y'],
    ]);
  });

  it("decodes quoted strings as Python's repr writes them: spaces, parentheses, the other quote, escapes", () => {
    expect(read("(args 'root=/dev/xvda1 ro (single)')")).toEqual([['args', 'root=/dev/xvda1 ro (single)']]);
    expect(read(`(name "it's") (d 'say "hi"') (e 'a\\'b')`)).toEqual([
      ['name', "it's"],
      ['d', 'say "hi"'],
      ['e', "a'b"],
    ]);
    expect(read("(s 'tab\\there\\nnl \\\\ back')")).toEqual([['s', 'tab\there\nnl \\ back']]);
    expect(read("(s '')")).toEqual([['s', '']]);
  });

  it('decodes \\x escapes as bytes of UTF-8 (how Python 2 repr writes a non-ASCII name) and octal escapes', () => {
    expect(read("(name 'caf\\xc3\\xa9')")).toEqual([['name', 'café']]);
    expect(read("(s '\\101\\0')")).toEqual([['s', 'A\u0000']]);
  });

  it('names a truncated document: the list left open and the innermost one', () => {
    const e = errorOf('(domain\n    (domid 7)\n    (image\n        (linux (kernel /boot/vmlinuz');
    expect(e.message).toBe(
      'test: input ended before (domain …) opened on line 1 was closed (innermost open list: (kernel …) on line 4): truncated? (line 1: "(domain")',
    );
    expect(e.lineNumber).toBe(1);
    expect(errorOf('(a').message).toMatch(/^test: input ended before \(a …\) opened on line 1 was closed: truncated\?/);
  });

  it('refuses a closing parenthesis with no list open, naming the line', () => {
    const e = errorOf('(a)\n(b))\n');
    expect(e.message).toBe(`test: unexpected ')' with no list open (line 2: "(b))")`);
  });

  it('refuses an unterminated string at the line it starts on, not somewhere later', () => {
    const e = errorOf("(domain\n    (args 'root=/dev/xvda1 ro)\n    (name x)\n)\n");
    expect(e.message).toMatch(/^test: unterminated string: no closing ' on its line/);
    expect(e.lineNumber).toBe(2);
    expect(errorOf('(a "b').message).toMatch(/unterminated string/);
  });

  it('refuses what xend never writes: unknown or short escapes, quotes glued to atoms, control characters', () => {
    expect(errorOf("(a 'b\\qc')").message).toMatch(/unknown escape "\\\\q"/);
    expect(errorOf("(a '\\x4')").message).toMatch(/bad escape \\x4'/);
    expect(errorOf("(a '\\777')").message).toMatch(/bad escape \\777: out of range/);
    expect(errorOf("(a b'c')").message).toMatch(/a quote inside the unquoted atom "b'"/);
    expect(errorOf("(a 'b'c)").message).toMatch(/unexpected "c" right after a quoted string/);
    expect(errorOf('(a b\u0001)').message).toMatch(/invalid character U\+0001/);
    expect(errorOf("(a 'b\tc')").message).toMatch(/invalid character U\+0009 in a quoted string/);
  });

  it('reads the real xm list --long sample (Xen 4.0.1) into two domain lists', () => {
    const nodes = parseSxp(fixture('xm-list-long-sxp__ganeti-xen-4.0.1.txt'));
    expect(nodes.map((n) => (n.kind === 'list' ? [n.items[0] && plain(n.items[0]), n.line] : null))).toEqual([
      ['domain', 1],
      ['domain', 52],
    ]);
  });

  it('does not overflow the stack on deep nesting', () => {
    const depth = 100_000;
    expect(parseSxp(`${'('.repeat(depth)}${')'.repeat(depth)}`)).toHaveLength(1);
  });
});
