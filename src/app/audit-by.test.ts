import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { type AuditEntry, AuditLog, verifyAuditFile, verifyAuditStream } from './audit.ts';

const prefix = uniquePrefix();
const dir = mkdtempSync(join(tmpdir(), 'xenops-audit-by-'));
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
beforeAll(async () => {
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
});
afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

const base: AuditEntry = {
  event: 'approval',
  requestId: 'r1',
  person: 'alice',
  platform: 'terminal',
  userId: 'alice',
  channelId: 'tty',
  command: 'stop',
  targets: [{ host: 'xen1', domain: 'web' }],
};

describe('the decider of an audit entry (by)', () => {
  it('is written, sealed in both chains, and matched by person: beside entries that have none', async () => {
    const key = `${prefix}:audit`;
    const file = join(dir, 'audit.jsonl');
    const audit = new AuditLog(redis, key, file, 10_000, quietLogger);
    // An entry as an older xenops wrote it (no `by`), then one with it.
    await audit.append({ ...base, decision: 'needsApproval', detail: 'approval ABC234 requested' });
    await audit.append({ ...base, decision: 'allowed', by: 'bob', detail: 'approve ABC234 by bob (1/1)' });
    const written = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(written[0]).not.toHaveProperty('by');
    expect(written[1]).toMatchObject({ person: 'alice', by: 'bob' });
    expect((await verifyAuditFile(file)).broken).toBeNull();
    expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 2, broken: null });

    const bob = await audit.recent({ n: 10, person: 'bob' });
    expect(bob.entries.map((e) => e['detail'])).toEqual(['approve ABC234 by bob (1/1)']);
    const alice = await audit.recent({ n: 10, person: 'alice' });
    expect(alice.entries).toHaveLength(2);

    // `by` is in the hash: rewriting who approved breaks the chain.
    const [, second] = await redis.xrange(key, '-', '+');
    const fields = [...(second?.[1] ?? [])];
    fields[fields.indexOf('by') + 1] = 'mallory';
    await redis.xdel(key, second?.[0] as string);
    await redis.xadd(key, '*', ...fields);
    expect((await verifyAuditStream(redis, key)).broken?.problem).toBe('hash mismatch');
  });
});
