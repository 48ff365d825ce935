import { describe, expect, it } from 'vitest';
import { freezeOf } from '../core/freeze.ts';
import { checkConfigText } from './load.ts';

/** Config mistakes the loader mishandled: a secret quoted back, a stack trace, a window that never opens. */
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const base = `hosts:\n  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\n`;

describe('GIVEN a section written as one environment variable holding a secret', () => {
  const env = { REDIS_URL: 'redis://:hunter2-redis-pass@10.0.0.9:6379', TELEGRAM_BOT_TOKEN: '123456:AAE-the-bot-token-itself' };

  it('THEN the problem names the variable as written, never the password or token it holds', () => {
    const r = checkConfigText(`${base}redis: \${REDIS_URL}\ntelegram: \${TELEGRAM_BOT_TOKEN}\n`, env);
    const text = JSON.stringify(r.issues);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('AAE-the-bot');
    expect(r.issues).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: as the file writes it
      { path: 'redis', message: 'expected a mapping (key: value), got "${REDIS_URL}"' },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: as the file writes it
      { path: 'telegram', message: 'expected a mapping (key: value), got "${TELEGRAM_BOT_TOKEN}"' },
    ]);
  });

  it('THEN a value the file writes itself is still quoted', () => {
    expect(checkConfigText(`${base}redis: redis://10.0.0.9\n`, {}).issues).toEqual([
      { path: 'redis', message: 'expected a mapping (key: value), got "redis://10.0.0.9"' },
    ]);
  });
});

describe('GIVEN YAML aliases', () => {
  const people = (n: number) =>
    [
      base,
      'roles: { admin: { allow: ["*"] } }',
      'people:',
      '  p0: { roles: &r [admin] }',
      ...Array.from({ length: n - 1 }, (_, i) => `  p${i + 1}: { roles: *r }`),
    ].join('\n');

  it('THEN a fleet file sharing one roles list among 150 people loads (yaml refused more than 100 aliases)', () => {
    const r = checkConfigText(people(150), {});
    expect(r.issues).toEqual([]);
    expect(Object.keys(r.config?.people ?? {})).toHaveLength(150);
    expect(r.config?.people['p149']?.roles).toEqual(['admin']);
  });

  it('THEN an alias bomb is one problem of the file, not a thrown exception', () => {
    const letters = 'abcdefghij';
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < letters.length; i++)
      lines.push(
        `${letters[i]}: &${letters[i]} [${Array(10)
          .fill(`*${letters[i - 1]}`)
          .join(', ')}]`,
      );
    let result: ReturnType<typeof checkConfigText> | Error;
    try {
      result = checkConfigText(`${lines.join('\n')}\n${base}`, {});
    } catch (error) {
      result = error as Error;
    }
    expect(result).not.toBeInstanceOf(Error);
    expect((result as ReturnType<typeof checkConfigText>).issues).toEqual([
      { path: '', message: 'cannot read the YAML: Excessive alias count indicates a resource exhaustion attack' },
    ]);
  });
});

describe('GIVEN a one-off maintenance window', () => {
  const window = (from: string, until: string) =>
    `${base}maintenance:\n  - { hosts: [xen1], reason: UPS swap, from: "${from}", until: "${until}" }\n`;

  it('WHEN until is before from THEN it is refused with its path (accepted, it never froze anything)', () => {
    const r = checkConfigText(window('2026-12-06T02:00:00Z', '2026-12-05T22:00:00Z'), {});
    expect(r.config).toBeNull();
    expect(r.issues).toEqual([
      { path: 'maintenance[0].until', message: 'must be after from (2026-12-06T02:00:00Z): this window would never be open' },
    ]);
  });

  it('WHEN until equals from THEN it is refused too', () => {
    const r = checkConfigText(window('2026-12-06T02:00:00Z', '2026-12-06T03:00:00+01:00'), {});
    expect(r.issues.map((i) => i.path)).toEqual(['maintenance[0].until']);
  });

  it('WHEN it is the right way round THEN it loads and freezes the host inside it', () => {
    const r = checkConfigText(window('2026-12-05T22:00:00Z', '2026-12-06T02:00:00Z'), {});
    expect(r.issues).toEqual([]);
    expect(freezeOf('xen1', Date.parse('2026-12-06T00:00:00Z'), r.config?.maintenance ?? [], {})?.reason).toBe('UPS swap');
  });
});

describe('GIVEN agent.hosts naming a host twice', () => {
  it('THEN it is refused (two workers on one host queue: twice agent.concurrency jobs there at once)', () => {
    const r = checkConfigText(`${base}agent:\n  hosts: [xen1, xen1]\n`, {});
    expect(r.issues).toEqual([{ path: 'agent.hosts[1]', message: '"xen1" is listed twice' }]);
  });
});

describe('GIVEN a Discord id written without quotes', () => {
  it('THEN it is refused saying to quote it, not naming a rounded number that is not the one written', () => {
    const r = checkConfigText(`${base}people:\n  a:\n    identities: { discord: 200000000000000001 }\n`, {});
    expect(r.issues).toEqual([
      { path: 'people.a.identities.discord', message: 'too many digits for a YAML number (it was rounded): put it in quotes' },
    ]);
  });
});
