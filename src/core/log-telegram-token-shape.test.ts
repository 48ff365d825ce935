import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { AuditLog } from '../app/audit.ts';
import { createLogger, redactSecrets } from './log.ts';

/**
 * A Telegram bot token (`<bot id>:<35 characters>`) is taken out by its shape, registered or not: a bot on the terminal
 * or Discord alone has no Telegram adapter to register one, and only the `bot<TOKEN>` of a request URL was found.
 */
const TOKEN = '7123456789:AAHx9kQe-Jd8secretTelegramTokenVal0';
const prefix = uniquePrefix();
let dir: string;
let redis: Redis;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xenops-tg-shape-'));
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await new Promise((resolve) => redis.once('ready', resolve));
});
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('a bare Telegram bot token no adapter registered', () => {
  it('is not kept in the audit file, the stream, nor what /audit shows', async () => {
    const key = `${prefix}:audit`;
    const path = join(dir, 'audit.jsonl');
    const audit = new AuditLog(redis, key, path, 10_000, quietLogger);
    await audit.append({
      event: 'request',
      requestId: 'r1',
      person: 'alice',
      platform: 'terminal',
      userId: 'alice',
      channelId: 'terminal',
      command: 'freeze',
      args: `xen1 token is ${TOKEN} oops`,
    });
    const shown = JSON.stringify((await audit.recent({ n: 1 })).entries);
    await audit.close();
    const everything = [readFileSync(path, 'utf8'), JSON.stringify(await redis.xrange(key, '-', '+')), shown].join('\n');
    // Before: the token stayed in all three, as typed.
    expect(everything).not.toContain(TOKEN.split(':')[1]);
    expect(shown).toContain('xen1 token is [redacted] oops');
  });

  it('is not written in a log line', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    createLogger('info', sink).warn({ text: `pasted ${TOKEN}` }, `refused: ${TOKEN}`);
    expect(lines.join('')).not.toContain(TOKEN.split(':')[1]);
  });

  it('leaves ids, times and host:domain names alone', () => {
    const text = 'job 1796628124259-0 at 12:30:45 on xen1:web-frontend-01, stream 1796628124259:0';
    expect(redactSecrets(text)).toBe(text);
  });
});
