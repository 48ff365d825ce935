import { describe, expect, it } from 'vitest';
import { checkConfigText } from './load.ts';

/**
 * A problem of the config names a value it refused, and check-config's output and the refused start's stderr end up
 * in CI logs and journals: a secret written in such a value (a URL's password, a bot token in the wrong place) is
 * taken out of the message, as it is out of every log line.
 */
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const base = `hosts:\n  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\n`;

describe('GIVEN a config value written wrongly that holds a secret', () => {
  it('THEN an API root refused as no URL is named without the password it holds', () => {
    const r = checkConfigText(`${base}discord:\n  apiRoot: "https://relay:apiRootPw77@ discord-relay.internal"\n`, {});
    // Before: 'expected a URL, got "https://relay:apiRootPw77@ discord-relay.internal"'.
    expect(r.issues).toEqual([{ path: 'discord.apiRoot', message: 'expected a URL, got "https://relay:[redacted]@ discord-relay.…"' }]);
  });

  it('THEN a Telegram bot token written as the whole telegram section is not quoted back', () => {
    const token = '7123456789:AAHx9kQe-Jd8secretTelegramTokenVal0';
    const r = checkConfigText(`${base}telegram: "${token}"\n`, {});
    const text = JSON.stringify(r.issues);
    // Before: 'expected a mapping (key: value), got "7123456789:AAHx9kQe-…"'.
    expect(text).not.toContain(token.split(':')[1]);
    expect(r.issues).toEqual([{ path: 'telegram', message: 'expected a mapping (key: value), got "[redacted]"' }]);
  });
});
