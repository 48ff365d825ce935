import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { type AuditEntry, AuditLog } from './audit.ts';

const prefix = uniquePrefix();
let dir: string;
let redis: Redis;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xenops-audit-deferred-'));
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  // Connected: the stream's copies are sent only on a ready connection (otherwise kept for a retry).
  await redis.ping();
});
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

const entry = (i: number, event: AuditEntry['event'] = 'request'): AuditEntry => ({
  event,
  requestId: `r${i}`,
  person: 'bob',
  platform: 'terminal',
  userId: 'bob',
  channelId: 'tty',
  command: 'stop',
});
const lines = (path: string) =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { requestId: string; event: string }).requestId)
    : [];

describe("the audit file's write, deferred to after the appending task", () => {
  it("is on disk when a `now` append resolves (a mutation's request, before its job is queued)", async () => {
    const path = join(dir, 'now.jsonl');
    const audit = new AuditLog(redis, `${prefix}:a1:audit`, path, 10_000, quietLogger, { lingerMs: 60_000 });
    try {
      await audit.append(entry(1), { now: true });
      expect(lines(path)).toEqual(['r1']);
    } finally {
      await audit.close();
    }
  });

  it('is not lost when the bot closes the log in the same task as the last appends, and keeps their order', async () => {
    const path = join(dir, 'close.jsonl');
    const audit = new AuditLog(redis, `${prefix}:a2:audit`, path, 10_000, quietLogger, { lingerMs: 60_000 });
    void audit.append(entry(1));
    void audit.append(entry(2, 'decision'));
    void audit.append(entry(3, 'job.outcome'));
    await audit.close();
    expect(lines(path)).toEqual(['r1', 'r2', 'r3']);
    const stream = (await redis.xrange(`${prefix}:a2:audit`, '-', '+')).map(([, f]) => f[f.indexOf('requestId') + 1]);
    expect(stream).toEqual(['r1', 'r2', 'r3']);
  });
});
