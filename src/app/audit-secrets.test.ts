import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { registerSecret } from '../core/log.ts';
import { type AuditEntry, AuditLog, verifyAuditFile, verifyAuditStream } from './audit.ts';

const prefix = uniquePrefix();
let dir: string;
let redis: Redis;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xenops-audit-secrets-'));
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await new Promise((resolve) => redis.once('ready', resolve));
});
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

const TOKEN = '7123456789:AAHx-secret-telegram-token-value_0123';

const entry = (extra: Partial<AuditEntry>): AuditEntry => ({
  event: 'request',
  requestId: 'r1',
  person: 'bob',
  platform: 'telegram',
  userId: '42',
  channelId: '-100',
  command: 'stop',
  ...extra,
});

describe('secrets a chat user pasted', () => {
  it('are not kept in the audit file nor the stream (as the log keeps them out), and both chains verify', async () => {
    registerSecret(TOKEN);
    const key = `${prefix}:audit`;
    const path = join(dir, 'audit.jsonl');
    const audit = new AuditLog(redis, key, path, 10_000, quietLogger);
    await audit.append(entry({ args: `web reason: oops pasted ${TOKEN} here` }));
    await audit.append(
      entry({ args: 'web --reason "see redis://:hunter2pass@db:6379"', detail: `failed with bot98765:${'A'.repeat(30)}` }),
    );
    await audit.close();

    const file = readFileSync(path, 'utf8');
    const stream = JSON.stringify(await redis.xrange(key, '-', '+'));
    for (const text of [file, stream]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain('hunter2pass');
      expect(text).not.toContain('A'.repeat(30));
      expect(text).toContain('[redacted]');
    }
    // What is shown by /audit still says where something was taken out.
    const [newest] = (await audit.recent({ n: 1 })).entries;
    expect(newest?.['args']).toBe('web --reason "see redis://:[redacted]@db:6379"');
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 2, broken: null });
    expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 2, broken: null });
  });
});
