import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.ts';
import { Config } from './schema.ts';

const base = { hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'a'.repeat(43)}` } } };
const problems = (ha: unknown) => {
  const r = Config.safeParse({ ...base, bot: { ha } });
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

describe('bot.ha', () => {
  it('is on by default with a 6 s lease, also when the bot section is given without it', () => {
    expect(Config.parse(base).bot.ha).toEqual({ enabled: true, leaseMs: 6_000 });
    expect(Config.parse({ ...base, bot: { readTimeoutMs: 5_000 } }).bot.ha).toEqual({ enabled: true, leaseMs: 6_000 });
    expect(Config.parse({ ...base, bot: { ha: { enabled: false } } }).bot.ha).toEqual({ enabled: false, leaseMs: 6_000 });
  });

  it('refuses a lease too short to renew over a network, or so long a takeover takes minutes', () => {
    expect(problems({ leaseMs: 1_000 })).toEqual(['bot.ha.leaseMs']);
    expect(problems({ leaseMs: 120_000 })).toEqual(['bot.ha.leaseMs']);
    expect(problems({ leaseMs: 3_000, extra: 1 })).toEqual(['bot.ha']);
    expect(problems({ leaseMs: '3000' })).toEqual([]);
  });

  it('config/xenops.example.yaml documents it with its defaults', () => {
    const c = loadConfig('config/xenops.example.yaml', { DISCORD_TOKEN: 'x'.repeat(20), TELEGRAM_BOT_TOKEN: '1:abc' });
    expect(c.bot.ha).toEqual({ enabled: true, leaseMs: 6_000 });
  });
});
