import { describe, expect, it } from 'vitest';
import { checkConfigText } from './load.ts';

/** YAML the parser could not read as meant: said with its line, and never by quoting the value (it may be a secret). */
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const withPassphrase = (value: string) =>
  `hosts:\n  xen1:\n    address: 10.0.0.1\n    privateKeyPath: /k\n    hostKey: "${FP}"\n    passphrase: ${value}\n`;
const SECRET = 'Hunter2Secret';

describe('a passphrase written unquoted that YAML reads as syntax', () => {
  it.each([
    ['an alias', `*${SECRET}`, 'an alias (*…) with no anchor (&…) before it: if the * begins the value, put the value in quotes'],
    [
      'a block scalar',
      `|${SECRET}`,
      "text after a block scalar's | or > on its line: if the | or > begins the value, put the value in quotes",
    ],
    ['an escape', `"x\\q${SECRET}"`, 'invalid escape sequence (\\…) in a double-quoted value: use single quotes, or write \\\\'],
  ])('%s: the line is named and the value is not printed', (_what, value, message) => {
    const r = checkConfigText(withPassphrase(value), {});
    expect(r.issues).toEqual([{ path: 'line 6', message }]);
    expect(JSON.stringify(r.issues)).not.toContain('Hunter2');
  });

  it('a tag: refused with its line (it was dropped, and the host loaded with no passphrase)', () => {
    const r = checkConfigText(withPassphrase(`!${SECRET}`), {});
    expect(r.config).toBeNull();
    expect(r.issues).toEqual([
      {
        path: 'line 6',
        message: `a YAML tag (!…) xenops does not know: if the ! begins the value, put the value in quotes (and keep secrets in \${VAR})`,
      },
    ]);
  });
});

describe('a YAML tag from another tool', () => {
  it('`!secret name` is refused, not read as the token "name"', () => {
    const r = checkConfigText(`${withPassphrase('"long enough"')}discord:\n  token: !secret discord_token\n`, {});
    expect(r.config).toBeNull();
    expect(r.issues.map((i) => i.path)).toEqual(['line 8']);
  });

  it("YAML's own tags still work", () => {
    expect(checkConfigText(`${withPassphrase('!!str 12345678')}`, {}).config?.hosts['xen1']?.passphrase).toBe('12345678');
  });
});

describe('an alias whose anchor is defined', () => {
  it('still loads', () => {
    const text = `hosts:\n  xen1: &h { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\n  xen2: *h\n`;
    expect(checkConfigText(text, {}).issues).toEqual([]);
  });
});
