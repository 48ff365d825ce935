import { describe, expect, it } from 'vitest';
import { isLoopbackHost, opsHttpSection } from './ops-schema.ts';
import { Config } from './schema.ts';

const base = { hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'a'.repeat(43)}` } } };

describe('bot.http / agent.http', () => {
  it('is off by default, on loopback, the bot on 9464 and the agent on 9465', () => {
    const c = Config.parse(base);
    expect(c.bot.http).toEqual({ enabled: false, host: '127.0.0.1', port: 9464, allowNonLoopback: false });
    expect(c.agent.http).toEqual({ enabled: false, host: '127.0.0.1', port: 9465, allowNonLoopback: false });
    // A section given only in part keeps the other defaults.
    expect(Config.parse({ ...base, bot: { readTimeoutMs: 5_000 } }).bot.http.port).toBe(9464);
    expect(Config.parse({ ...base, agent: { http: { enabled: true } } }).agent.http).toMatchObject({ enabled: true, port: 9465 });
  });

  it('refuses a non-loopback address unless allowNonLoopback', () => {
    const r = Config.safeParse({ ...base, bot: { http: { enabled: true, host: '0.0.0.0' } } });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'bot.http.host',
        '0.0.0.0 is not a loopback address: the endpoints have no authentication; use 127.0.0.1, or set allowNonLoopback: true',
      ],
    ]);
    expect(opsHttpSection(1).parse({ host: '0.0.0.0', allowNonLoopback: true }).host).toBe('0.0.0.0');
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.net', '128.0.0.1', '127.example.net']) expect(isLoopbackHost(h)).toBe(false);
  });
});
