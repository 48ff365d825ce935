import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, monitorRedis, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { type PrivateRedis, startPrivateRedis } from '../../test/helpers/redis-server.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { startTestStack } from '../../test/helpers/stack.ts';
import { TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { TerminalAdapter } from '../adapters/terminal/index.ts';
import { type AuditEntry, AuditLog, asParsedBack, STREAM_VALUE_MAX, verifyAuditFile, verifyAuditStream } from './audit.ts';
import { GENESIS, hashOf } from './audit-chain.ts';

const prefixes: string[] = [];
const clients: Redis[] = [];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenops-audit-test-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
});
afterAll(async () => {
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
  rmSync(dir, { recursive: true, force: true });
});

async function client(url = REDIS_URL): Promise<Redis> {
  const c = new Redis(url, { maxRetriesPerRequest: 1 });
  clients.push(c);
  if (c.status !== 'ready') await new Promise((resolve) => c.once('ready', resolve));
  return c;
}

function stream(): string {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  return `${prefix}:audit`;
}

let files = 0;
const file = () => join(dir, `audit-${++files}.jsonl`);

const entry = (i: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  event: 'request',
  requestId: `r${i}`,
  person: 'bob',
  platform: 'terminal',
  userId: 'bob',
  channelId: 'tty',
  command: 'stop',
  args: 'web',
  ...extra,
});

const log = (redis: Redis, key: string, path: string, options: ConstructorParameters<typeof AuditLog>[5] = {}) =>
  new AuditLog(redis, key, path, 10_000, quietLogger, options);

function record(fields: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) o[fields[i] as string] = fields[i + 1] as string;
  return o;
}

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('an entry as the file will hold it', () => {
  it('is what JSON.parse(JSON.stringify(entry)) gives, key order included', () => {
    const value = fc.oneof(
      fc.string(),
      fc.double(),
      fc.integer(),
      fc.constantFrom(null, undefined, true, false, -0, Number.NaN, Number.POSITIVE_INFINITY, () => 1, Symbol('s')),
      fc.array(fc.oneof(fc.string(), fc.double(), fc.constant(undefined))),
      fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.double(), fc.constant(undefined))),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value), (record) => {
        const parsed = asParsedBack(record);
        const expected = JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
        expect(parsed).toEqual(expected);
        expect(Object.keys(parsed)).toEqual(Object.keys(expected));
        for (const k of Object.keys(expected)) expect(Object.is(parsed[k], expected[k]) || typeof expected[k] === 'object').toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the stream chain', () => {
  it('chains each entry to the one before it, its hash SHA-256 over the canonical bytes, and moves the head', async () => {
    const redis = await client();
    const key = stream();
    const audit = log(redis, key, file());
    // Multi-byte text (netstring lengths are bytes), quotes, line breaks, empty values, nulls left out.
    const texts = [
      '',
      ...Array.from({ length: 5 }, (_, i) => 'x'.repeat(i)),
      'é'.repeat(40),
      '日本語 🙂 "quoted" \\ back',
      'a\nb\r\nc\td',
      'z'.repeat(3000),
    ];
    for (const [i, args] of texts.entries()) await audit.append(entry(i, { args, durationMs: i, person: i % 3 ? 'bob' : null }));
    const stored = await redis.xrange(key, '-', '+');
    expect(stored).toHaveLength(texts.length);
    let prev = GENESIS;
    for (const [, fields] of stored) {
      const r = record(fields);
      expect(r['prev']).toBe(prev);
      expect(r['hash']).toBe(hashOf(r));
      prev = r['hash'] as string;
    }
    expect(await redis.get(`${key}:head`)).toBe(prev);
    expect(await verifyAuditStream(redis, key, 7)).toMatchObject({ entries: texts.length, broken: null, head: prev });
  });

  it('stays one chain with several writers on one stream', async () => {
    const key = stream();
    // Three bots, each with its own connection, appending at once.
    const bots = await Promise.all([1, 2, 3].map(async () => log(await client(), key, file())));
    await Promise.all(bots.flatMap((a, w) => Array.from({ length: 40 }, (_, i) => a.append(entry(w * 100 + i)))));
    const redis = await client();
    expect(await redis.xlen(key)).toBe(120);
    expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 120, broken: null });
  });

  it('sends entries made at once to Redis in a few script calls, in the order they were made (group commit)', async () => {
    const redis = await client();
    const key = stream();
    const audit = log(redis, key, file());
    await audit.append(entry(0));
    const monitor = await monitorRedis();
    try {
      await Promise.all(Array.from({ length: 100 }, (_, i) => audit.append(entry(i + 1))));
      await monitor.settle();
    } finally {
      monitor.stop();
    }
    const calls = monitor.calls.filter((c) => /^eval/i.test(c.args[0] ?? '') && c.args.includes(key));
    const stored = (await redis.xrange(key, '-', '+')).map(([, f]) => record(f)['requestId']);
    expect(stored).toEqual(Array.from({ length: 101 }, (_, i) => `r${i}`));
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.length).toBeLessThanOrEqual(3);
    expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 101, broken: null });
  });

  it('with a linger, gathers entries made one at a time into one script call; a `now` entry, /audit and close send them at once', async () => {
    const redis = await client();
    const key = stream();
    const path = file();
    // A linger no test waits out: only `now`, recent() and close() can send what gathers.
    const audit = log(redis, key, path, { lingerMs: 60_000 });
    // The first call learns the chain's head (two calls): done before counting.
    await audit.append(entry(-1), { now: true });
    const monitor = await monitorRedis();
    const calls = () => monitor.calls.filter((c) => /^eval/i.test(c.args[0] ?? '') && c.args.includes(key)).length;
    try {
      // As a /list makes them: each awaited before the next is made.
      for (let i = 0; i < 5; i++) await audit.append(entry(i));
      // In the file at once; not in the stream yet, and nobody waited for it.
      expect(lines(path).map((l) => l['requestId'])).toEqual(['r-1', 'r0', 'r1', 'r2', 'r3', 'r4']);
      expect(await redis.xlen(key)).toBe(1);
      // A mutation's request: sent at once with what gathered before it, in order, in one call, and waited for.
      await audit.append(entry(5), { now: true });
      expect((await redis.xrange(key, '-', '+')).map(([, f]) => record(f)['requestId'])).toEqual([
        'r-1',
        'r0',
        'r1',
        'r2',
        'r3',
        'r4',
        'r5',
      ]);
      await monitor.settle();
      expect(calls()).toBe(1);
      // /audit reads what this bot has gathered.
      await audit.append(entry(6));
      expect((await audit.recent({ n: 1 })).entries.map((e) => e['requestId'])).toEqual(['r6']);
      // Closing sends the rest.
      await audit.append(entry(7));
      await audit.close();
      expect(await redis.xlen(key)).toBe(9);
      await monitor.settle();
      expect(calls()).toBe(3);
      expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 9, broken: null });
    } finally {
      monitor.stop();
    }
    // A short linger sends by itself.
    const soon = log(redis, key, path, { lingerMs: 20 });
    await soon.append(entry(8));
    await expect.poll(() => redis.xlen(key), { timeout: 5_000 }).toBe(10);
    expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 10, broken: null });
  });

  it('loads the script again when Redis has forgotten it (a restart, SCRIPT FLUSH)', async () => {
    const redis = await client();
    const key = stream();
    const audit = log(redis, key, file());
    await audit.append(entry(1));
    await redis.script('FLUSH');
    await audit.append(entry(2));
    expect(audit.pending).toBe(0);
    expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 2, broken: null });
  });

  it('goes on from the stream\u2019s last entry when the head key is lost', async () => {
    const redis = await client();
    const key = stream();
    const audit = log(redis, key, file());
    await audit.append(entry(1));
    await redis.del(`${key}:head`);
    await audit.append(entry(2));
    const [first, second] = (await redis.xrange(key, '-', '+')).map(([, f]) => record(f));
    expect(second?.['prev']).toBe(first?.['hash']);
    expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 2, broken: null });
  });

  it('is checked from the first entry present after trimming', async () => {
    const redis = await client();
    const key = stream();
    const audit = log(redis, key, file());
    for (let i = 0; i < 10; i++) await audit.append(entry(i));
    const ids = (await redis.xrange(key, '-', '+')).map(([id]) => id);
    await redis.xtrim(key, 'MAXLEN', 4);
    expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 4, first: `stream entry ${ids[6]}`, broken: null });
  });

  it('names the entry after a deleted one, and a forged one', async () => {
    const redis = await client();
    const key = stream();
    const audit = log(redis, key, file());
    for (let i = 0; i < 5; i++) await audit.append(entry(i));
    const before = (await redis.xrange(key, '-', '+')).map(([id, f]) => ({ id, hash: record(f)['hash'] as string }));
    const [, second, third, fourth] = before as [
      unknown,
      { id: string; hash: string },
      { id: string; hash: string },
      { id: string; hash: string },
    ];
    await redis.xdel(key, third.id);
    expect((await verifyAuditStream(redis, key)).broken).toEqual({
      where: `stream entry ${fourth.id}`,
      problem: 'prev mismatch',
      detail: `it names ${third.hash.slice(0, 12)}… but the entry before it (stream entry ${second.id}) hashes to ${second.hash.slice(0, 12)}…: an entry was deleted, inserted or moved here`,
    });

    const forged = stream();
    const a2 = log(redis, forged, file());
    await a2.append(entry(1));
    const head = (await redis.get(`${forged}:head`)) as string;
    // Written past the script, naming the right prev but with a made-up hash.
    const id = await redis.xadd(forged, '*', 'event', 'request', 'person', 'mallory', 'prev', head, 'hash', 'f'.repeat(64));
    expect((await verifyAuditStream(redis, forged)).broken).toMatchObject({ where: `stream entry ${id}`, problem: 'hash mismatch' });
  });

  it('names newest entries deleted: the head key still names the last entry written', async () => {
    const redis = await client();
    const key = stream();
    const audit = log(redis, key, file());
    for (let i = 0; i < 3; i++) await audit.append(entry(i));
    const [, second, third] = (await redis.xrange(key, '-', '+')).map(([id, f]) => ({ id, hash: record(f)['hash'] as string })) as [
      unknown,
      { id: string; hash: string },
      { id: string; hash: string },
    ];
    // The record of the last request removed by someone with access to Redis: every link left is intact.
    await redis.xdel(key, third.id);
    expect((await verifyAuditStream(redis, key)).broken).toEqual({
      where: `the end of the stream, after stream entry ${second.id}`,
      problem: 'head mismatch',
      detail: `the head key names ${third.hash.slice(0, 12)}…, which no entry hashes to (the newest, stream entry ${second.id}, hashes to ${second.hash.slice(0, 12)}…): the newest entries were deleted`,
    });
    await redis.xtrim(key, 'MAXLEN', 0);
    expect((await verifyAuditStream(redis, key)).broken).toMatchObject({
      where: 'the end of the stream (it is empty)',
      problem: 'head mismatch',
    });
  });

  it('keeps entries while Redis is unreachable and chains them when it is back, in the order Redis receives them', async () => {
    const key = stream();
    const path = file();
    const offline = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    clients.push(offline);
    const audit = log(offline, key, path);
    for (let i = 1; i <= 3; i++) await audit.append(entry(i));
    expect(audit.pending).toBe(3);
    // The file has every entry, chained, whatever Redis does.
    expect(lines(path).map((l) => l['requestId'])).toEqual(['r1', 'r2', 'r3']);
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 3, broken: null });
    // Another bot writes meanwhile.
    await log(await client(), key, file()).append(entry(99));
    await offline.connect();
    await audit.flush();
    expect(audit.pending).toBe(0);
    const redis = await client();
    expect((await redis.xrange(key, '-', '+')).map(([, f]) => record(f)['requestId'])).toEqual(['r99', 'r1', 'r2', 'r3']);
    expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 4, broken: null });
  });

  it('flushes after every outage: a flush with nothing kept does not stop the next one', async () => {
    const key = stream();
    const offline = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    clients.push(offline);
    const audit = log(offline, key, file());
    // Back from an outage that kept nothing: the bot flushes on every 'ready'.
    await audit.flush();
    await audit.append(entry(1));
    expect(audit.pending).toBe(1);
    await offline.connect();
    await audit.flush();
    expect(audit.pending).toBe(0);
    // Another flush with nothing kept, Redis up: the next entry still goes out (it hung there once: its append never
    // resolved, and the request waiting for it never finished).
    await audit.flush();
    const appended = await Promise.race([audit.append(entry(2)).then(() => 'appended'), sleep(5_000).then(() => 'hung')]);
    expect(appended).toBe('appended');
    expect((await (await client()).xrange(key, '-', '+')).map(([, f]) => record(f)['requestId'])).toEqual(['r1', 'r2']);
  });

  it('cuts a long value in the stream (Redis holds a chat message\u2019s size); the file keeps it whole', async () => {
    const redis = await client();
    const key = stream();
    const path = file();
    const long = `${'x'.repeat(STREAM_VALUE_MAX - 1)}🙂${'y'.repeat(6000)}`;
    await log(redis, key, path).append(entry(1, { args: long }));
    const [[, fields]] = (await redis.xrange(key, '-', '+')) as [[string, string[]]];
    expect(record(fields)['args']).toBe(`${'x'.repeat(STREAM_VALUE_MAX - 1)}… [${long.length} characters; whole in the audit file]`);
    expect(lines(path)[0]?.['args']).toBe(long);
    expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 1, broken: null });
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 1, broken: null });
  });

  it('gives up a script call that gets no answer (a silent connection) and sends it again later, applied once', async () => {
    const key = stream();
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    const through = new Redis(proxy.url, { maxRetriesPerRequest: null });
    clients.push(through);
    const audit = log(through, key, file(), { callTimeoutMs: 300 });
    const ready = () => new Promise<void>((resolve) => (through.status === 'ready' ? resolve() : through.once('ready', () => resolve())));
    try {
      await ready();
      await audit.append(entry(1));
      expect(audit.pending).toBe(0);
      // Commands still reach Redis and run; their answers are lost: the append must not wait for ever.
      proxy.freezeOpen('replies');
      await audit.append(entry(2));
      expect(audit.pending).toBe(1);
      // Meanwhile the next one is kept behind it, not sent.
      await audit.append(entry(3));
      expect(audit.pending).toBe(2);
      proxy.heal();
      await ready();
      await audit.flush();
      expect(audit.pending).toBe(0);
      const redis = await client();
      // Entry 2 ran in Redis before its answer was lost: sent again, it is not appended twice.
      expect((await redis.xrange(key, '-', '+')).map(([, f]) => record(f)['requestId'])).toEqual(['r1', 'r2', 'r3']);
      expect(await verifyAuditStream(redis, key)).toMatchObject({ entries: 3, broken: null });
    } finally {
      await proxy.stop();
    }
  });

  it('a failing Redis never fails an append: the entry is kept for later', async () => {
    const redis = await client();
    const key = stream();
    await redis.set(key, 'not a stream');
    const path = file();
    const audit = log(redis, key, path);
    await expect(audit.append(entry(1))).resolves.toBeUndefined();
    expect(audit.pending).toBe(1);
    expect(lines(path)).toHaveLength(1);
  });
});

describe('the stream after Redis refused a write on a connection it kept (maxmemory, MISCONF, READONLY)', () => {
  let priv: PrivateRedis;
  beforeAll(async () => {
    priv = await startPrivateRedis();
  }, 30_000);
  afterAll(async () => {
    await priv?.stop();
  });

  /** An audit log whose second entry Redis refused (full at its maxmemory), then Redis taking writes again. */
  async function refusedOnce() {
    const redis = await client(priv.url);
    const admin = await client(priv.url);
    const key = `${uniquePrefix()}:audit`;
    const audit = log(redis, key, file());
    await audit.append(entry(1));
    await admin.config('SET', 'maxmemory', '1');
    await audit.append(entry(2));
    expect(audit.pending).toBe(1);
    // Memory freed: no reconnect, so no 'ready' event and no flush().
    await admin.config('SET', 'maxmemory', '0');
    expect(redis.status).toBe('ready');
    const ids = async () => (await admin.xrange(key, '-', '+')).map(([, f]) => record(f)['requestId']);
    return { admin, key, audit, ids };
  }

  it('/audit sends the kept entries and those made since, in order, before it reads', async () => {
    const { admin, key, audit } = await refusedOnce();
    for (let i = 3; i <= 5; i++) await audit.append(entry(i));
    const page = await audit.recent({ n: 10 });
    expect(page.entries.map((e) => e['requestId'])).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
    expect(audit.pending).toBe(0);
    expect(await verifyAuditStream(admin, key)).toMatchObject({ entries: 5, broken: null });
    await audit.close();
  });

  it('tries the kept entries again by itself until Redis takes them', async () => {
    const { admin, key, audit, ids } = await refusedOnce();
    await expect.poll(() => audit.pending, { timeout: 5_000 }).toBe(0);
    expect(await ids()).toEqual(['r1', 'r2']);
    // Entries go to the stream at once again.
    await audit.append(entry(3));
    expect(await ids()).toEqual(['r1', 'r2', 'r3']);
    expect(await verifyAuditStream(admin, key)).toMatchObject({ entries: 3, broken: null });
    await audit.close();
  });
});

describe('the file chain', () => {
  it('starts at the genesis value and goes on across restarts', async () => {
    const redis = await client();
    const key = stream();
    const path = file();
    const first = log(redis, key, path);
    await first.append(entry(1));
    await first.append(entry(2));
    const second = log(redis, key, path);
    await second.append(entry(3));
    await second.append(entry(4));
    const written = lines(path);
    expect(written.map((l) => l['prev'])).toEqual([GENESIS, written[0]?.['hash'], written[1]?.['hash'], written[2]?.['hash']]);
    for (const l of written) expect(l['hash']).toBe(hashOf(l));
    expect(await verifyAuditFile(path)).toEqual({ entries: 4, unchained: 0, first: 'line 1', head: written[3]?.['hash'], broken: null });
  });

  it('chains entries made at once in the order they were made, writing them in few appends (group commit)', async () => {
    const redis = await client();
    const path = file();
    const audit = log(redis, stream(), path);
    await Promise.all(Array.from({ length: 200 }, (_, i) => audit.append(entry(i))));
    const written = lines(path);
    expect(written.map((l) => l['requestId'])).toEqual(Array.from({ length: 200 }, (_, i) => `r${i}`));
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 200, broken: null });
    await audit.close();
    // After close the next append opens the file again and goes on with the chain.
    await audit.append(entry(200));
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 201, broken: null });
    await audit.close();
  });

  it('follows the file when another process appends between this one\u2019s entries', async () => {
    const redis = await client();
    const key = stream();
    const path = file();
    const a = log(redis, key, path);
    const b = log(redis, key, path);
    await a.append(entry(1));
    await b.append(entry(2));
    await a.append(entry(3));
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 3, broken: null });
  });

  it('after a line cut short, starts the next entry on a line of its own, chained to the last whole entry', async () => {
    const redis = await client();
    const key = stream();
    const path = file();
    await log(redis, key, path).append(entry(1));
    await log(redis, key, path).append(entry(2));
    appendFileSync(path, '{"ts":"2025-01-31T08:00:00.000Z","event":"requ');
    await log(redis, key, path).append(entry(3));
    const text = readFileSync(path, 'utf8').split('\n');
    expect(text).toHaveLength(5);
    // The cut line is named, and the chain is checked past it.
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 3, broken: null, cutShort: ['line 3'] });
    // Removing the cut line leaves an intact chain.
    writeFileSync(path, [text[0], text[1], text[3], ''].join('\n'));
    expect(await verifyAuditFile(path)).toEqual({
      entries: 3,
      unchained: 0,
      first: 'line 1',
      head: JSON.parse(text[3] as string).hash,
      broken: null,
    });
  });

  it('makes its directory again when it is removed while the bot runs, and starts a new chain there', async () => {
    const redis = await client();
    const sub = mkdtempSync(join(dir, 'gone-'));
    const path = join(sub, 'var', 'audit.jsonl');
    const audit = log(redis, stream(), path);
    await audit.append(entry(1));
    // An operator cleaning var/, a tmpfs remounted.
    rmSync(join(sub, 'var'), { recursive: true });
    await audit.append(entry(2));
    await audit.append(entry(3));
    expect(lines(path).map((l) => l['requestId'])).toEqual(['r2', 'r3']);
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 2, broken: null });
    await audit.close();
  });

  it('keeps the entries a failed write left out and writes them first, chained, once the file can be written', async () => {
    const redis = await client();
    const sub = mkdtempSync(join(dir, 'blocked-'));
    const path = join(sub, 'var', 'audit.jsonl');
    const audit = log(redis, stream(), path);
    await audit.append(entry(1));
    // Its directory replaced by a file: nothing can be written there until it is a directory again.
    rmSync(join(sub, 'var'), { recursive: true });
    writeFileSync(join(sub, 'var'), '');
    await audit.append(entry(2));
    await audit.append(entry(3));
    rmSync(join(sub, 'var'));
    await audit.append(entry(4));
    expect(lines(path).map((l) => l['requestId'])).toEqual(['r2', 'r3', 'r4']);
    expect(await verifyAuditFile(path)).toMatchObject({ entries: 3, broken: null });
    // And at close, what the last write left out.
    rmSync(join(sub, 'var'), { recursive: true });
    writeFileSync(join(sub, 'var'), '');
    await audit.append(entry(5));
    rmSync(join(sub, 'var'));
    await audit.close();
    expect(lines(path).map((l) => l['requestId'])).toEqual(['r5']);
  });

  it('writes host and domain fields from the targets, and keeps the old fields', async () => {
    const redis = await client();
    const key = stream();
    const path = file();
    await log(redis, key, path).append(
      entry(1, { event: 'decision', decision: 'allowed', targets: [{ host: 'xen1', domain: 'web', target: 'xen2' }], durationMs: 5 }),
    );
    const [written] = lines(path);
    expect(written).toMatchObject({
      event: 'decision',
      person: 'bob',
      decision: 'allowed',
      host: 'xen1,xen2',
      domain: 'web',
      durationMs: 5,
      prev: GENESIS,
    });
    expect(written).not.toHaveProperty('targets');
    const [[, fields]] = (await redis.xrange(key, '-', '+')) as [[string, string[]]];
    expect(record(fields)).toMatchObject({ host: 'xen1,xen2', domain: 'web', durationMs: '5' });
  });
});

describe('reading the stream with filters', () => {
  const DAY = 86_400_000;
  let redis: Redis;
  let key: string;
  let now: number;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    key = stream();
    now = Date.now();
    // Two days old, by stream id and by ts: below a since:24h bound, so never read.
    for (let i = 0; i < 3; i++)
      await redis.xadd(
        key,
        `${now - 2 * DAY}-${i}`,
        'ts',
        new Date(now - 2 * DAY).toISOString(),
        'event',
        'request',
        'person',
        'bob',
        'command',
        'stop',
        'domain',
        'web',
      );
    const at = (ms: number) => log(redis, key, file(), { now: () => ms });
    // A day and a half old by ts (flushed late from a backlog), so the stream id is recent.
    await at(now - 1.5 * DAY).append(entry(1, { targets: [{ host: 'xen1', domain: 'web' }] }));
    const fresh = at(now - 60_000);
    await fresh.append(entry(2, { targets: [{ host: 'xen1', domain: 'web' }] }));
    await fresh.append(entry(3, { person: 'carol', userId: 'carol', event: 'decision', decision: 'rejected', args: 'xen1:web' }));
    await fresh.append(entry(4, { command: 'migrate', args: 'mail xen2', targets: [{ host: 'xen1', domain: 'mail', target: 'xen2' }] }));
    await fresh.append(entry(5, { command: 'audit', args: 'domain:web', person: 'alice', userId: 'alice' }));
    await fresh.append(entry(6, { person: null, userId: '200000000000000009', command: 'list', args: '' }));
    await fresh.append(entry(7, { event: 'job.start', host: 'xen2', targets: [{ host: 'xen2', domain: 'files' }] }));
  });
  afterAll(() => redis.disconnect());

  const ids = (page: { entries: Record<string, string>[] }) => page.entries.map((e) => e['requestId'] ?? 'old');

  it('without filters: the newest n, reading n entries', async () => {
    const page = await log(redis, key, file()).recent({ n: 3 });
    expect(ids(page)).toEqual(['r7', 'r6', 'r5']);
    expect(page).toMatchObject({ scanned: 3, bounded: false });
  });

  it('by domain: its entries, and refused requests that named it (not /audit\u2019s own filters)', async () => {
    const page = await log(redis, key, file()).recent({ n: 10, domain: 'web' });
    expect(ids(page)).toEqual(['r3', 'r2', 'r1', 'old', 'old', 'old']);
  });

  it('by domain since 24h: the since bound stops the read, and ts decides', async () => {
    const page = await log(redis, key, file()).recent({ n: 10, domain: 'web', since: now - DAY });
    expect(ids(page)).toEqual(['r3', 'r2']);
    // The seven recent entries only: the two-day-old ones lie below the bound.
    expect(page).toEqual(expect.objectContaining({ scanned: 7, bounded: false }));
  });

  it('by host: a migration counts for its target host too', async () => {
    expect(ids(await log(redis, key, file()).recent({ n: 10, host: 'xen2' }))).toEqual(['r7', 'r4']);
    expect(ids(await log(redis, key, file()).recent({ n: 10, host: 'xen1', since: now - DAY }))).toEqual(['r4', 'r3', 'r2']);
  });

  it('by person (or a platform user id for someone unknown), and by command', async () => {
    expect(ids(await log(redis, key, file()).recent({ n: 10, person: 'carol' }))).toEqual(['r3']);
    expect(ids(await log(redis, key, file()).recent({ n: 10, person: '200000000000000009' }))).toEqual(['r6']);
    expect(ids(await log(redis, key, file()).recent({ n: 2, person: 'bob', command: 'stop' }))).toEqual(['r7', 'r2']);
    expect(ids(await log(redis, key, file()).recent({ n: 10, command: 'migrate' }))).toEqual(['r4']);
  });

  it('by host: an entry about 1,000 hosts (a /freeze all) is found by any of them; the stream keeps host whole', async () => {
    const own = stream();
    const audit = log(redis, own, file());
    const hosts = Array.from({ length: 1_000 }, (_, i) => `xen${i + 1}`);
    await audit.append(entry(1, { command: 'freeze', args: 'all storage work', targets: hosts.map((host) => ({ host })) }));
    for (const host of ['xen1', 'xen500', 'xen1000']) expect(ids(await audit.recent({ n: 10, host, command: 'freeze' }))).toEqual(['r1']);
    // What a scoped audit.read is checked against too.
    const [[, fields]] = (await redis.xrange(own, '-', '+')) as [[string, string[]]];
    expect(record(fields)['host']).toBe(hosts.join(','));
    expect(await verifyAuditStream(redis, own)).toMatchObject({ entries: 1, broken: null });
  });

  it('stops after the scan bound and says so', async () => {
    // The newest five are r7…r3: only r3 is about web.
    const page = await log(redis, key, file(), { maxScan: 5 }).recent({ n: 10, domain: 'web' });
    expect(ids(page)).toEqual(['r3']);
    expect(page).toMatchObject({ scanned: 5, bounded: true });
    const enough = await log(redis, key, file(), { maxScan: 5 }).recent({ n: 1, domain: 'web' });
    expect(ids(enough)).toEqual(['r3']);
    expect(enough).toMatchObject({ scanned: 5, bounded: false });
  });
});

describe('xenops audit verify', () => {
  const BIN = join(import.meta.dirname, '..', '..', 'bin', 'xenops.js');
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, 'audit', 'verify', ...args], { encoding: 'utf8' });

  it('prints OK for an intact file and exits 0; names the first broken entry and exits 1', async () => {
    const redis = await client();
    const key = stream();
    const path = file();
    const audit = log(redis, key, path);
    for (let i = 1; i <= 4; i++) await audit.append(entry(i));
    const ok = run(['--file', path]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe(`${path}: OK: 4 entries, chain intact\n`);
    expect(ok.status).toBe(0);

    const text = readFileSync(path, 'utf8').split('\n');
    const edited = join(dir, 'edited.jsonl');
    writeFileSync(edited, [text[0], text[1], (text[2] as string).replace('"person":"bob"', '"person":"eve"'), text[3], ''].join('\n'));
    const bad = run(['--file', edited]);
    expect(bad.status).toBe(1);
    const stored = (JSON.parse(text[2] as string) as { hash: string }).hash;
    const computed = hashOf({ ...(JSON.parse(text[2] as string) as object), person: 'eve' });
    expect(bad.stdout).toBe(
      `${edited}: BROKEN at line 3: hash mismatch: stored ${stored.slice(0, 12)}…, computed ${computed.slice(0, 12)}…: the entry was changed after it was written (2 entries intact before it)\n`,
    );

    const missing = run(['--file', join(dir, 'none.jsonl')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`xenops audit verify: ${join(dir, 'none.jsonl')}: no such file\n`);
  });

  it('checks the stream and the config\u2019s file with -c', async () => {
    const redis = await client();
    const key = stream();
    const prefix = key.slice(0, -':audit'.length);
    const path = file();
    const audit = log(redis, key, path);
    for (let i = 1; i <= 3; i++) await audit.append(entry(i));
    const config = join(dir, 'verify.yaml');
    writeFileSync(
      config,
      [
        `redis: { url: "${REDIS_URL}", prefix: "${prefix}" }`,
        `audit: { file: "${path}" }`,
        'hosts:',
        '  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s" }',
        '',
      ].join('\n'),
    );
    const stream_ = run(['--stream', '-c', config]);
    expect(stream_.stderr).toBe('');
    expect(stream_.stdout).toBe(`stream ${key}: OK: 3 entries, chain intact\n`);
    expect(stream_.status).toBe(0);
    const both = run(['-c', config]);
    expect(both.stdout).toBe(`${path}: OK: 3 entries, chain intact\nstream ${key}: OK: 3 entries, chain intact\n`);
    expect(both.status).toBe(0);

    const ids = (await redis.xrange(key, '-', '+')).map(([id]) => id);
    await redis.xdel(key, ids[1] as string);
    const broken = run(['--stream', '-c', config]);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`^stream ${key.replace(/[{}]/g, '\\$&')}: BROKEN at stream entry ${ids[2]}: prev mismatch: `));
  });
});

describe('the demo stack on a terminal', () => {
  it('audits with host and domain fields, filters /audit by them, and both chains verify', async () => {
    let output = '';
    const input = new PassThrough();
    const out = new PassThrough();
    out.on('data', (c: Buffer) => {
      output += c.toString();
    });
    let terminal: TerminalAdapter | undefined;
    const stack = await startTestStack({
      makeAdapters: (config) => {
        terminal = new TerminalAdapter({ config, input, output: out });
        return [terminal];
      },
    });
    try {
      input.end(
        [
          '/start mail',
          '@carol /stop web',
          '/audit domain:mail',
          '/audit domain:web',
          '/audit host:xen1 command:start 3',
          '/audit since:yesterday',
          '',
        ].join('\n'),
      );
      await terminal?.done;
      const sections = output.split(/^> /m).slice(1);
      const rows = (section: string | undefined) =>
        (section ?? '')
          .split('\n')
          .slice(3)
          .filter((l) => l !== '')
          .map((l) => l.split(/\s{2,}/).slice(1, 5));
      // The agent's job start and the bot's "allowed" decision race each other: compared in a fixed order.
      const byEvent = (a: string[], b: string[]) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`);
      expect(sections[2]?.split('\n')[1]).toBe('ℹ Last 4 audit entries matching domain:mail');
      expect(rows(sections[2]).sort(byEvent)).toEqual([
        ['decision', 'alice', 'start', 'xen1:mail'],
        ['job.outcome', 'alice', 'start', 'xen1:mail'],
        ['job.start', 'alice', 'start', 'xen1:mail'],
        ['request', 'alice', 'start', 'xen1:mail'],
      ]);
      // carol's refused stop counts: its arguments named web, recorded as typed (refused before any target was
      // resolved, it names no host: not one taken from what the bot happened to know); the /audit domain:mail before
      // it does not (its arguments are filters).
      expect(sections[3]?.split('\n')[1]).toBe('ℹ Last 1 audit entry matching domain:web');
      expect(rows(sections[3])).toEqual([['decision', 'carol', 'stop', 'web']]);
      expect(sections[4]?.split('\n')[1]).toBe('ℹ Last 3 audit entries matching host:xen1 command:start');
      expect(rows(sections[4]).sort(byEvent)).toEqual([
        ['decision', 'alice', 'start', 'xen1:mail'],
        ['job.outcome', 'alice', 'start', 'xen1:mail'],
        ['job.start', 'alice', 'start', 'xen1:mail'],
      ]);
      expect(sections[5]?.split('\n').slice(1, 4)).toEqual([
        '✖ Bad arguments for /audit',
        'since: "yesterday" is not a time: use 30m, 24h, 7d or an ISO timestamp such as 2025-01-31T08:00Z',
        '  | /audit [<n>] [--person <person>] [--domain <domain>] [--host <host>] [--command <command>] [--since <since>]',
      ]);
      const redis = await client();
      // start: request, decision, job.start, job.outcome; carol's refusal; three /audit requests; the refused since:yesterday
      // (in the stream within audit.streamLingerMs).
      await expect.poll(() => redis.xlen(`${stack.prefix}:audit`), { timeout: 5_000 }).toBe(9);
      const count = 9;
      expect(await verifyAuditStream(redis, `${stack.prefix}:audit`)).toMatchObject({ entries: count, broken: null });
      expect(await verifyAuditFile(stack.auditFile)).toMatchObject({ entries: count, broken: null });
    } finally {
      await stack.stop();
    }
  }, 60_000);
});
