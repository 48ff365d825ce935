import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { type AuditEntry, AuditLog } from './audit.ts';

/**
 * `xenops audit verify --stream` on a key where no stream is: a wrong `redis.prefix` or `redis.url` (the demo's
 * stream is under a per-run prefix, removed when it stops) said "OK: 0 entries, chain intact", exit 0 — assurance
 * about a trail that is not there. The bot never leaves a stream without its head key, nor empty (its XADD … MAXLEN ~
 * keeps the entry it adds, audit.streamMaxLen ≥ 100): no stream and no head is "no audit stream here" (exit 1, as a
 * missing file is); a head without its stream, or an empty stream, is one whose entries were deleted (exit 1); a
 * stream without its head key (an older xenops) verifies, saying that its newest entries could not be checked.
 */
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'xenops.js');
const DEMO = join(import.meta.dirname, '..', '..', 'config', 'demo.yaml');
const KEY = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
/** What `xenops sim` would export: the demo config's hosts are not what these tests are about. */
const SIM_ENV = {
  XENOPS_SIM_XEN1_PORT: '2201',
  XENOPS_SIM_XEN2_PORT: '2202',
  XENOPS_SIM_CLIENT_KEY: '/nonexistent/client_ed25519',
  XENOPS_SIM_XEN1_HOSTKEY: KEY,
  XENOPS_SIM_XEN2_HOSTKEY: KEY,
};
const prefixes: string[] = [];
let redis: Redis;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xenops-audit-missing-'));
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await redis.ping();
});
afterAll(async () => {
  redis.disconnect();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
  rmSync(dir, { recursive: true, force: true });
});

/** A prefix of its own, as config/demo.yaml takes it from XENOPS_REDIS_PREFIX (without the braces). */
function fresh(): { name: string; key: string } {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  return { name: prefix.slice(1, -1), key: `${prefix}:audit` };
}

function verifyStream(prefixName: string) {
  const env = { ...process.env, ...SIM_ENV, REDIS_URL, XENOPS_REDIS_PREFIX: prefixName };
  return spawnSync(process.execPath, [BIN, 'audit', 'verify', '--stream', '-c', DEMO], { encoding: 'utf8', env, cwd: dir });
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

async function write(key: string, n: number): Promise<void> {
  const audit = new AuditLog(redis, key, join(dir, `${key.replace(/[{}:]/g, '_')}.jsonl`), 10_000, quietLogger);
  for (let i = 1; i <= n; i++) await audit.append(entry(i));
  await audit.close();
}

describe('xenops audit verify --stream where the stream is not whole', () => {
  it('says there is no audit stream at that key on that Redis, and exits 1, when neither stream nor head is there', async () => {
    const { name, key } = fresh();
    const run = verifyStream(name);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `xenops audit verify: no audit stream at ${key} on ${REDIS_URL}: no bot has written one there (check redis.url and redis.prefix; --file checks the file alone)\n`,
    );
    expect(run.status).toBe(1);
  });

  it('reports a stream that is gone while its head key is left as broken, exit 1', async () => {
    const { name, key } = fresh();
    await write(key, 2);
    const head = (await redis.get(`${key}:head`)) as string;
    await redis.del(key);
    const run = verifyStream(name);
    expect(run.stdout).toBe(
      `stream ${key}: BROKEN: the stream is gone but its head key ${key}:head names ${head.slice(0, 12)}…: the stream was deleted\n`,
    );
    expect(run.status).toBe(1);
  });

  it('reports a stream emptied of its entries, with no head key, as broken, exit 1', async () => {
    const { name, key } = fresh();
    await write(key, 2);
    await redis.del(`${key}:head`);
    for (const [id] of await redis.xrange(key, '-', '+')) await redis.xdel(key, id);
    expect(await redis.exists(key)).toBe(1);
    const run = verifyStream(name);
    expect(run.stdout).toBe(
      `stream ${key}: BROKEN: the stream exists but holds no entry, and there is no head key ${key}:head: its entries were deleted (xenops's own trimming always keeps the newest)\n`,
    );
    expect(run.status).toBe(1);
  });

  it('verifies a stream without its head key, saying its newest entries could not be checked; exit 0', async () => {
    const { name, key } = fresh();
    await write(key, 3);
    await redis.del(`${key}:head`);
    const run = verifyStream(name);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(
      `stream ${key}: OK: 3 entries, chain intact (no head key ${key}:head, as an older xenops left it: newest entries deleted would go unnoticed)\n`,
    );
    expect(run.status).toBe(0);
  });

  it('verifies a whole stream as before', async () => {
    const { name, key } = fresh();
    await write(key, 2);
    const run = verifyStream(name);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`stream ${key}: OK: 2 entries, chain intact\n`);
    expect(run.status).toBe(0);
  });
});
