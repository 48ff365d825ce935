import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/log.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { uniquePrefix } from '../helpers/redis.ts';
import { type PrivateRedis, startPrivateRedis } from '../helpers/redis-server.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';

/**
 * A request refused because Redis was unreachable is on record like any refusal: about the hosts its command named,
 * so a reader whose audit.read is scoped to other hosts does not see it (the README's security model).
 */

const prefix = uniquePrefix();
const fakeHost = (port: number) => ({ address: '127.0.0.1', port, privateKey: 'not-a-real-key', hostKey: `SHA256:${'A'.repeat(43)}` });
const auditFile = `/tmp/${prefix}-audit.jsonl`;

/** The bot's log, so the test can wait for it to see Redis go and come back (its own client, not the test's). */
const waiting: { pattern: RegExp; resolve: () => void }[] = [];
const logger = createLogger(
  'debug',
  new Writable({
    write(chunk, _enc, done) {
      const msg = String((JSON.parse(String(chunk)) as { msg?: unknown }).msg);
      for (const w of waiting.splice(0))
        if (w.pattern.test(msg)) w.resolve();
        else waiting.push(w);
      done();
    },
  }),
);
const logged = (pattern: RegExp) => new Promise<void>((resolve) => waiting.push({ pattern, resolve }));

let redis: PrivateRedis;
let bot: Bot;
const adapter = new CaptureAdapter();

beforeAll(async () => {
  redis = await startPrivateRedis();
  const config = Config.parse({
    redis: { url: redis.url, prefix },
    hosts: { xen1: fakeHost(1), xen2: fakeHost(2) },
    roles: { admin: { allow: ['*'] }, xen2admin: { allow: [{ permission: 'admin', hosts: ['xen2'] }] } },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice' } },
      erin: { roles: ['xen2admin'], identities: { terminal: 'erin' } },
    },
    channels: [{ platform: 'terminal', id: '*' }],
    audit: { file: auditFile, streamLingerMs: 0 },
    bot: { readTimeoutMs: 2_000, fleetRefreshMs: 600_000 },
    approvals: { enabled: false },
  });
  bot = await createBot({ config, redis: redis.url, logger, adapters: [adapter] });
  await bot.start();
}, 30_000);

afterAll(async () => {
  await bot?.stop();
  await redis?.stop();
  rmSync(auditFile, { force: true });
});

let n = 0;
async function ask(user: string, text: string): Promise<{ id: string; reply: Reply }> {
  const req = chatRequest(`outage-scope-${++n}`, text, user);
  await bot.core.handle(req, targetOf(req));
  return { id: req.id, reply: await adapter.finalReply(req.id) };
}

describe('a request refused during a Redis outage', () => {
  it('is about the hosts it named: a reader scoped to another host does not see it; /audit host: finds it', async () => {
    const lost = logged(/^redis error \(bot\)$/);
    await redis.kill('SIGKILL');
    await lost;
    const refused = await ask('alice', 'stop xen1:secret-vm');
    expect(refused.reply).toMatchObject({ kind: 'error', title: 'Redis is unreachable' });
    const back = logged(/^Redis is reachable again/);
    await redis.restart();
    await back;
    // erin may read the audit about xen2 only.
    const seen = await ask('erin', 'audit 50');
    expect(seen.reply.kind).toBe('result');
    expect(JSON.stringify(seen.reply)).not.toContain('secret-vm');
    expect(JSON.stringify(seen.reply)).not.toContain('xen1');
    const found = await ask('alice', 'audit host:xen1');
    expect(JSON.stringify(found.reply)).toContain('Redis unreachable');
  });
});
