import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { type AuditEntry, AuditLog, verifyAuditFile } from './audit.ts';
import { formatReport } from './audit-chain.ts';

/**
 * A bot stopped in the middle of writing an entry (killed, the machine lost power, the disk filled) leaves its line
 * cut short; the next entry starts on a line of its own, chained to the last whole entry. That is the bot's own
 * recovery, not tampering: `xenops audit verify` says where the cut line is and goes on checking the chain after it
 * (before, it stopped there — BROKEN for good, and nothing after the crash was ever checked again). Anything else that
 * does not parse, or a cut line the chain does not go on past, is still a break.
 */
const prefix = uniquePrefix();
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'xenops.js');
let dir: string;
let redis: Redis;
let n = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xenops-audit-cut-'));
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await redis.ping();
});
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

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

/** A bot's life: appends entries `from`..`to` to the file, then stops. */
async function bot(path: string, from: number, to: number): Promise<void> {
  const audit = new AuditLog(redis, `${prefix}:audit${++n}`, path, 1_000, quietLogger);
  for (let i = from; i <= to; i++) await audit.append(entry(i));
  await audit.close();
}

/** The first `bytes` of the line a bot would write next: what a crash in the middle of its write leaves. */
async function crashWhileWriting(path: string, bytes: number): Promise<void> {
  const scratch = join(dir, `scratch-${++n}.jsonl`);
  writeFileSync(scratch, readFileSync(path));
  await bot(scratch, 99, 99);
  const line = readFileSync(scratch, 'utf8').slice(readFileSync(path, 'utf8').length);
  appendFileSync(path, line.slice(0, bytes));
}

const verify = (path: string) => spawnSync(process.execPath, [BIN, 'audit', 'verify', '--file', path], { encoding: 'utf8' });

describe('an audit file with a line a crash cut short', () => {
  it('verifies, naming the cut line, when the bot went on after it; exit 0', async () => {
    const path = join(dir, 'crashed.jsonl');
    await bot(path, 1, 2);
    await crashWhileWriting(path, 60);
    await bot(path, 3, 4);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(6);
    const report = await verifyAuditFile(path);
    expect(report).toMatchObject({ entries: 4, broken: null, cutShort: ['line 3'] });
    expect(formatReport('f', report)).toBe(
      'f: OK: 4 entries, chain intact (line 3 is an entry cut short, as a crash or a full disk leaves one: not an entry, skipped)',
    );
    const cli = verify(path);
    expect(cli.stdout).toBe(
      `${path}: OK: 4 entries, chain intact (line 3 is an entry cut short, as a crash or a full disk leaves one: not an entry, skipped)\n`,
    );
    expect(cli.status).toBe(0);
  });

  it('still finds an entry edited after the cut line', async () => {
    const path = join(dir, 'crashed-edited.jsonl');
    await bot(path, 1, 2);
    await crashWhileWriting(path, 60);
    await bot(path, 3, 4);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[4] = (lines[4] as string).replace('"person":"bob"', '"person":"eve"');
    writeFileSync(path, lines.join('\n'));
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 3, broken: { where: 'line 5', problem: 'hash mismatch' } });
  });

  it('verifies when the cut line is the last (the bot has not written since), naming it', async () => {
    const path = join(dir, 'crashed-last.jsonl');
    await bot(path, 1, 2);
    await crashWhileWriting(path, 100);
    expect(formatReport('f', await verifyAuditFile(path))).toBe(
      'f: OK: 2 entries, chain intact (line 3 is an entry cut short, as a crash or a full disk leaves one: not an entry, skipped)',
    );
  });

  it('is a break when the chain does not go on past it: a whole entry was cut there', async () => {
    const path = join(dir, 'cut-entry.jsonl');
    await bot(path, 1, 4);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[2] = (lines[2] as string).slice(0, 60);
    writeFileSync(path, lines.join('\n'));
    expect(await verifyAuditFile(path)).toMatchObject({
      entries: 2,
      broken: { where: 'line 3', problem: 'unparsable', detail: 'not a JSON object (a truncated line, or one edited by hand)' },
    });
  });

  it('is a break when the line is not the start of an entry (garbage, in the middle or appended)', async () => {
    const path = join(dir, 'garbage.jsonl');
    await bot(path, 1, 2);
    appendFileSync(path, 'rm -rf / # hello\n');
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 2, broken: { where: 'line 3', problem: 'unparsable' } });
    await bot(path, 3, 3);
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 2, broken: { where: 'line 3', problem: 'unparsable' } });
  });
});

describe('an audit file with two crashes', () => {
  it('names both cut lines', async () => {
    const path = join(dir, 'crashed-twice.jsonl');
    await bot(path, 1, 1);
    await crashWhileWriting(path, 30);
    await bot(path, 2, 2);
    await crashWhileWriting(path, 3);
    await crashWhileWriting(path, 90);
    await bot(path, 3, 3);
    const report = await verifyAuditFile(path);
    expect(report).toMatchObject({ entries: 3, broken: null, cutShort: ['line 2', 'line 4', 'line 5'] });
    expect(formatReport('f', report)).toBe(
      'f: OK: 3 entries, chain intact (lines 2, 4, 5 are entries cut short, as a crash or a full disk leaves them: not entries, skipped)',
    );
  });
});
