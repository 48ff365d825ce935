import { describe, expect, it } from 'vitest';
import { checkConfigText } from './load.ts';

/** `${NAME}` and `${NAME:-default}` are filled in; any other form is refused, not kept as the value itself. */
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const base = `hosts:\n  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\n`;
const REFUSED = `a reference xenops does not fill in: write \${NAME} or \${NAME:-default}`;

describe('a reference in a form xenops does not read', () => {
  it.each([
    ['compose: required', `\${DISCORD_TOKEN:?set the token}`],
    ['shell: default without the colon', `\${DISCORD_TOKEN-abc}`],
    ['a colon without the dash', `\${DISCORD_TOKEN:abc}`],
    ['no braces', '$DISCORD_TOKEN'],
    ['a nested default', `\${DISCORD_TOKEN:-\${OTHER_TOKEN}}`],
  ])('%s (%s) is refused with its path (accepted, it was the token)', (_what, value) => {
    const r = checkConfigText(`${base}discord:\n  token: ${JSON.stringify(value)}\n`, { DISCORD_TOKEN: 'the-real-token-value' });
    expect(r.config).toBeNull();
    expect(r.issues).toEqual([{ path: 'discord.token', message: REFUSED }]);
  });

  it("a variable's value holding a reference is not filled in again", () => {
    const r = checkConfigText(`${base}discord:\n  token: \${DISCORD_TOKEN}\n`, { DISCORD_TOKEN: `a\${b}c` });
    expect(r.issues).toEqual([]);
    expect(r.config?.discord?.token).toBe(`a\${b}c`);
  });

  it('the forms that are read still are, side by side with text', () => {
    const r = checkConfigText(`${base}redis:\n  prefix: "{\${PREFIX:-xenops}}"\naudit:\n  file: \${STATE}/audit.jsonl\n`, {
      STATE: '/var/lib/x',
    });
    expect(r.issues).toEqual([]);
    expect(r.config?.redis.prefix).toBe('{xenops}');
    expect(r.config?.audit.file).toBe('/var/lib/x/audit.jsonl');
  });
});
