import { describe, expect, it } from 'vitest';
import { checkConfigText } from './load.ts';

/** Numeric settings as YAML gives them: a number, or text from `${VAR}`; nothing else turned into one. */
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const host = (extra = '') => `hosts:\n  xen1:\n    address: 10.0.0.1\n    privateKeyPath: /k\n    hostKey: "${FP}"\n${extra}`;

describe('a numeric setting written as something else', () => {
  it.each([
    // Each was accepted: true became port 1, an empty value 0 (no cool-down, a random port), a list its one number.
    ['hosts.xen1.port', 'expected a number, got true', host('    port: true\n')],
    ['alerts.cooldownMinutes', 'expected a number, got an empty value', `${host()}alerts:\n  cooldownMinutes:\n`],
    ['bot.http.port', 'expected a number, got an empty value', `${host()}bot:\n  http: { port: }\n`],
    ['audit.streamLingerMs', 'expected a number, got a list', `${host()}audit:\n  streamLingerMs: []\n`],
    ['fleet.memoryReserveMiB', 'expected a number, got a list', `${host()}fleet:\n  memoryReserveMiB: [512]\n`],
    ['agent.concurrency', 'expected a number, got false', `${host()}agent:\n  concurrency: false\n`],
    ['bot.ha.leaseMs', 'expected a number, got an empty value', `${host()}bot:\n  ha: { leaseMs: }\n`],
  ])('%s is refused: %s', (path, message, text) => {
    const r = checkConfigText(text, {});
    expect(r.config).toBeNull();
    expect(r.issues).toEqual([{ path, message }]);
  });

  it('still takes text from the environment, and a number written as text', () => {
    const r = checkConfigText(`${host(`    port: \${SSH_PORT}\n`)}alerts:\n  cooldownMinutes: "0"\n`, { SSH_PORT: '2222' });
    expect(r.issues).toEqual([]);
    expect(r.config?.hosts['xen1']?.port).toBe(2222);
    expect(r.config?.alerts.cooldownMinutes).toBe(0);
  });
});

describe('a number too long to keep exactly', () => {
  it('a setting is said to be too large once, not told to be quoted (quoted, it is the same number)', () => {
    const bounded = checkConfigText(`${host()}sampling:\n  intervalSeconds: 99999999999999999999999\n`, {});
    expect(bounded.issues).toEqual([{ path: 'sampling.intervalSeconds', message: 'must be at most 60, got 1e+23' }]);
    const unbounded = checkConfigText(`${host()}bot:\n  readTimeoutMs: 99999999999999999999\n`, {});
    expect(unbounded.issues).toEqual([{ path: 'bot.readTimeoutMs', message: 'too large for a whole number (at most 9007199254740991)' }]);
  });

  it('an id is told to be quoted, never echoed as the rounded number YAML made of it', () => {
    const quote = 'too many digits for a YAML number (it was rounded): put it in quotes';
    const r = checkConfigText(
      `${host()}discord:\n  applicationId: 100000000000000001\n  guildIds: [123456789012345678]\n` +
        'alerts:\n  channels: [{ platform: discord, id: 300000000000000001 }]\n',
      {},
    );
    expect(r.issues).toEqual([
      { path: 'discord.applicationId', message: quote },
      { path: 'discord.guildIds[0]', message: quote },
      { path: 'alerts.channels[0].id', message: quote },
    ]);
  });
});
