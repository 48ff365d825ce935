import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { createLogger } from '../core/log.ts';
import { type AuditEntry, AuditLog } from './audit.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenops-audit-loss-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

const entry = (i: number): AuditEntry => ({
  event: 'request',
  requestId: `r${i}`,
  person: 'bob',
  platform: 'terminal',
  userId: 'bob',
  channelId: 'tty',
  command: 'stop',
  args: 'web',
});

/** A client that never connects: Redis down for the whole life of the audit log. */
function offline(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
}

describe('stream entries that will never reach Redis', () => {
  it('are said in the log when the bot stops with them still kept (the file has them)', async () => {
    const { logger, lines } = capture();
    const redis = offline();
    const path = join(dir, 'stop.jsonl');
    const audit = new AuditLog(redis, `${uniquePrefix()}:audit`, path, 10_000, logger);
    for (let i = 1; i <= 3; i++) await audit.append(entry(i));
    await audit.close();
    redis.disconnect();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(3);
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, lost: 3, msg: expect.stringMatching(/never reached the stream/) }));
  });

  it('are said in the log when the outage outlasts what is kept in memory', async () => {
    const { logger, lines } = capture();
    const redis = offline();
    const audit = new AuditLog(redis, `${uniquePrefix()}:audit`, join(dir, 'long.jsonl'), 10_000, logger);
    await Promise.all(Array.from({ length: 10_002 }, (_, i) => audit.append(entry(i))));
    expect(audit.pending).toBe(10_000);
    const dropped = lines.filter((l) => /dropped from the stream/.test(String(l['msg'])));
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped[0]).toMatchObject({ level: 50 });
    await audit.close();
    redis.disconnect();
  });
});
