import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { UserError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import { type IncomingHolder, IncomingMigrations } from '../queue/incoming-migrations.ts';
import { incomingGate } from './incoming-hold.ts';

/**
 * The hold a plan's migration step takes on its target (real Redis): one at a time, a dead holder's hold lapsing on
 * its own, a wait that ends in words (naming what it waited for) rather than never, and an agent stopping meanwhile.
 */
let redis: Redis;
let prefix: string;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  prefix = uniquePrefix();
});
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

const step = (token: string, domain: string, host: string): Omit<IncomingHolder, 'since'> => ({
  token,
  requestId: `req-${token}`,
  person: 'bob',
  command: 'evacuate',
  domain,
  host,
  target: 'xen3',
});

describe('the hold on a migration target', () => {
  it('left (the outcome unknown: its copy may still be building there): not renewed, not let go — it lapses', async () => {
    const gate = incomingGate(new IncomingMigrations(redis, `${prefix}:left`), { ttlMs: 400, renewMs: 100, pollMs: 20 });
    const key = `${prefix}:left:incoming:xen3`;
    const release = await gate.hold(step('t1', 'db', 'xen4'));
    await release(true);
    // Still held right after: a step checking now would read a free memory that does not count the copy yet.
    expect(await redis.exists(key)).toBe(1);
    // No renewal keeps it: gone within its TTL.
    await expect.poll(() => redis.exists(key), { timeout: 2_000, interval: 50 }).toBe(0);
  });

  it('a second step waits, saying for what, and goes once the first lets go', async () => {
    const gate = incomingGate(new IncomingMigrations(redis, `${prefix}:a`), { ttlMs: 5_000, renewMs: 1_000, pollMs: 20 });
    const release = await gate.hold(step('t1', 'db', 'xen4'));
    const waits: (IncomingHolder | null)[] = [];
    let held = false;
    const second = gate.hold(step('t2', 'web', 'xen1'), { onWait: (h) => waits.push(h) }).then((r) => {
      held = true;
      return r;
    });
    await expect.poll(() => waits.length).toBe(1);
    expect(held).toBe(false);
    expect(waits[0]).toMatchObject({ domain: 'db', host: 'xen4', person: 'bob', requestId: 'req-t1' });
    await release();
    await (await second)();
    expect(await redis.exists(`${prefix}:a:incoming:xen3`)).toBe(0);
  });

  it('refuses, naming the migration it waited for, once the longest wait is over — and sends nothing', async () => {
    const gate = incomingGate(new IncomingMigrations(redis, `${prefix}:b`), { ttlMs: 5_000, renewMs: 1_000, pollMs: 20, maxWaitMs: 200 });
    const release = await gate.hold(step('t1', 'db', 'xen4'));
    const refused = await gate.hold(step('t2', 'web', 'xen1')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UserError);
    expect((refused as UserError).message).toMatch(
      /^xen3 is still receiving db from xen4 \(bob's \/evacuate, request req-t1, since \d\d:\d\d:\d\d UTC\), after 0 s of waiting: web was not migrated there/,
    );
    await release();
  });

  it("a dead holder's hold (never renewed, never released) lapses after its TTL", async () => {
    const migrations = new IncomingMigrations(redis, `${prefix}:c`);
    expect(await migrations.acquire({ ...step('dead', 'db', 'xen4'), since: Date.now() }, 300)).toEqual({ ok: true });
    const gate = incomingGate(migrations, { ttlMs: 5_000, renewMs: 1_000, pollMs: 20 });
    const started = Date.now();
    const release = await gate.hold(step('t2', 'web', 'xen1'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    // The lapsed holder's release (a late one) does not take the new hold away.
    expect(await migrations.release('xen3', 'dead')).toBe(false);
    expect(JSON.parse((await redis.get(migrations.key('xen3'))) ?? 'null')).toMatchObject({ token: 't2' });
    await release();
  });

  it('an agent stopping while its step waits: the wait ends with the abort, holding nothing', async () => {
    const migrations = new IncomingMigrations(redis, `${prefix}:d`);
    const gate = incomingGate(migrations, { ttlMs: 5_000, renewMs: 1_000, pollMs: 20 });
    const release = await gate.hold(step('t1', 'db', 'xen4'));
    const stop = new AbortController();
    const waiting = gate.hold(step('t2', 'web', 'xen1'), { signal: stop.signal, onWait: () => stop.abort(new Error('handing back')) });
    await expect(waiting).rejects.toThrow('handing back');
    expect(JSON.parse((await redis.get(migrations.key('xen3'))) ?? 'null')).toMatchObject({ token: 't1' });
    await release();
  });

  it('gone while held (a Redis blip longer than its TTL, or a flush): taken back at the next renewal', async () => {
    const migrations = new IncomingMigrations(redis, `${prefix}:e`);
    const gate = incomingGate(migrations, { ttlMs: 5_000, renewMs: 50, pollMs: 20 });
    const key = migrations.key('xen3');
    const release = await gate.hold(step('t1', 'db', 'xen4'));
    const taken = JSON.parse((await redis.get(key)) ?? 'null') as IncomingHolder;
    expect(await redis.del(key)).toBe(1);
    // Was: only "lost the hold on the migration target" logged, the target left free for another plan's step.
    await expect.poll(() => redis.get(key), { timeout: 2_000, interval: 20 }).not.toBeNull();
    expect(JSON.parse((await redis.get(key)) ?? 'null')).toEqual(taken);
    expect(await redis.pttl(key)).toBeGreaterThan(4_000);
    // Another plan's step waits for it again, as before the blip.
    const other = incomingGate(migrations, { ttlMs: 5_000, renewMs: 1_000, pollMs: 20, maxWaitMs: 100 });
    await expect(other.hold(step('t2', 'web', 'xen1'))).rejects.toThrow(/^xen3 is still receiving db from xen4/);
    await release();
    expect(await redis.exists(key)).toBe(0);
  });

  it("gone while held and another step's meanwhile: logged as an error, the other's hold left alone", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    });
    const migrations = new IncomingMigrations(redis, `${prefix}:f`);
    const gate = incomingGate(migrations, { ttlMs: 5_000, renewMs: 50, pollMs: 20 }, Date.now, createLogger('info', sink));
    const key = migrations.key('xen3');
    const release = await gate.hold(step('t1', 'db', 'xen4'));
    expect(await redis.del(key)).toBe(1);
    expect(await migrations.acquire({ ...step('t2', 'web', 'xen1'), since: Date.now() }, 5_000)).toEqual({ ok: true });
    await expect
      .poll(() => lines.find((l) => l['msg'] === 'lost the hold on the migration target to another migration'), { timeout: 2_000 })
      .toMatchObject({ level: 50, target: 'xen3', holder: { domain: 'web', host: 'xen1' } });
    expect(JSON.parse((await redis.get(key)) ?? 'null')).toMatchObject({ token: 't2' });
    await release();
    expect(JSON.parse((await redis.get(key)) ?? 'null')).toMatchObject({ token: 't2' });
    await migrations.release('xen3', 't2');
  });
});
