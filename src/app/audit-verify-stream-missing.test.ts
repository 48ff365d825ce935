import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditCliScene, DEMO_CONFIG } from '../../test/helpers/audit-cli.ts';
import { REDIS_URL } from '../../test/helpers/redis.ts';

/**
 * `xenops audit verify --stream` on a key where no stream is: a wrong `redis.prefix` or `redis.url` (the demo's
 * stream is under a per-run prefix, removed when it stops) said "OK: 0 entries, chain intact", exit 0 — assurance
 * about a trail that is not there. The bot never leaves a stream without its head key, nor empty (its XADD … MAXLEN ~
 * keeps the entry it adds, audit.streamMaxLen ≥ 100): no stream and no head is "no audit stream here" (exit 1, as a
 * missing file is); a head without its stream, or an empty stream, is one whose entries were deleted (exit 1); a
 * stream without its head key (an older xenops) verifies, saying that its newest entries could not be checked.
 */
const scene = auditCliScene('audit-missing');

/** A prefix of its own, and its stream's key. */
function fresh(): { name: string; key: string } {
  const { prefix, name } = scene.fresh();
  return { name, key: `${prefix}:audit` };
}

/** The demo's config read with only its redis and audit sections: no simulator variable is needed. */
const verifyStream = (prefixName: string) =>
  scene.xenops(['audit', 'verify', '--stream', '-c', DEMO_CONFIG], scene.withoutSim({ XENOPS_REDIS_PREFIX: prefixName }));

const write = (key: string, n: number) => scene.write(key, join(scene.dir, `${key.replace(/[{}:]/g, '_')}.jsonl`), n);
const redis = () => scene.redis;

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
    const head = (await redis().get(`${key}:head`)) as string;
    await redis().del(key);
    const run = verifyStream(name);
    expect(run.stdout).toBe(
      `stream ${key}: BROKEN: the stream is gone but its head key ${key}:head names ${head.slice(0, 12)}…: the stream was deleted\n`,
    );
    expect(run.status).toBe(1);
  });

  it('reports a stream emptied of its entries, with no head key, as broken, exit 1', async () => {
    const { name, key } = fresh();
    await write(key, 2);
    await redis().del(`${key}:head`);
    for (const [id] of await redis().xrange(key, '-', '+')) await redis().xdel(key, id);
    expect(await redis().exists(key)).toBe(1);
    const run = verifyStream(name);
    expect(run.stdout).toBe(
      `stream ${key}: BROKEN: the stream exists but holds no entry, and there is no head key ${key}:head: its entries were deleted (xenops's own trimming always keeps the newest)\n`,
    );
    expect(run.status).toBe(1);
  });

  it('verifies a stream without its head key, saying its newest entries could not be checked; exit 0', async () => {
    const { name, key } = fresh();
    await write(key, 3);
    await redis().del(`${key}:head`);
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
