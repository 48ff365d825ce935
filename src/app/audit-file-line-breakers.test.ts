import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { AuditLog, verifyAuditFile } from './audit.ts';

/**
 * The JSONL file is read by people and tools as lines: a reason typed in chat must not put there, raw, a character
 * that breaks a line for them (U+2028/U+2029, NEL — Python's splitlines, editors that "fix unusual line terminators"),
 * reorders what is read (bidi overrides) or acts in a terminal (C1 controls such as CSI, for `tail -f`). JSON escapes
 * them losslessly: the entry parses back to the same text, and its hash is unchanged.
 */
const prefix = uniquePrefix();
let dir: string;
let redis: Redis;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xenops-audit-breakers-'));
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await redis.ping();
});
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

const TYPED =
  'stop web reason:"ok\u2028{\\"ts\\":\\"2025-01-31T08:00:00Z\\",\\"event\\":\\"approval\\"}\u2029\u0085 \u202egnp.exe \u2066x\u2069 \u009b2J \u200f\u061c"';

describe('an audit entry whose chat text holds line separators, bidi and C1 controls', () => {
  it('is one line of the file by any line splitter, with none of them raw, and parses back to what was typed', async () => {
    const path = join(dir, 'audit.jsonl');
    const audit = new AuditLog(redis, `${prefix}:audit`, path, 1_000, quietLogger);
    const base = { platform: 'telegram', userId: '1002', channelId: '-100', command: 'stop', person: 'bob' } as const;
    await audit.append({ ...base, event: 'request', requestId: 'r1', args: TYPED });
    await audit.append({ ...base, event: 'decision', requestId: 'r1', args: TYPED, decision: 'rejected', detail: `Not allowed: ${TYPED}` });
    await audit.close();
    const text = readFileSync(path, 'utf8');
    expect(text.match(/[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g)).toBeNull();
    // Python's str.splitlines() breaks on all of these.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the line breaks other readers know are the point
    const lines = text.split(/\r\n|[\n\r\v\f\u001c-\u001e\u0085\u2028\u2029]/).filter((l) => l !== '');
    expect(lines).toHaveLength(2);
    const parsed = lines.map((l) => JSON.parse(l) as { args: string; detail?: string });
    expect(parsed.map((e) => e.args)).toEqual([TYPED, TYPED]);
    expect(parsed[1]?.detail).toBe(`Not allowed: ${TYPED}`);
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 2, broken: null });
  });
});
