import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureAdapter } from '../../test/helpers/capture-adapter.ts';
import { REDIS_URL } from '../../test/helpers/redis.ts';
import { chatRequest, targetOf } from '../../test/helpers/requests.ts';
import { startTestStack, type TestStack } from '../../test/helpers/stack.ts';
import type { ActionClick } from '../adapters/types.ts';
import type { Reply } from '../core/reply.ts';
import { ApprovalStore } from './approvals.ts';
import { hostsLeftBehind } from './hosts-left-behind.ts';

/**
 * What xenops leaves in Redis as it runs for months: a realistic mix of requests through the whole stack (reads,
 * refused commands, approvals approved, denied and expired, /freeze, /oncall set, a button, a schedule ticking and
 * removed, alerts), then every key under the run's prefix looked at. Each one either expires (a TTL) or belongs to a
 * family bounded otherwise (BullMQ's queues with their jobs' retention, streams written with MAXLEN, one field per
 * host); and running the mix again adds no key that never expires.
 */
let stack: TestStack;
let adapter: CaptureAdapter;
let redis: Redis;

beforeAll(async () => {
  stack = await startTestStack({
    makeAdapters: () => {
      adapter = new CaptureAdapter('terminal');
      return [adapter];
    },
    adjustConfig: (c) => ({
      ...c,
      sampling: { ...c.sampling, intervalSeconds: 1, historyEverySeconds: 1 },
      alerts: { enabled: true, channels: [{ platform: 'terminal', id: 'alerts' }], cooldownMinutes: 10 },
    }),
  });
  redis = new Redis(REDIS_URL);
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

let n = 0;
const nextId = () => `kb-${++n}-${Math.random().toString(36).slice(2, 6)}`;
async function send(line: string, person = 'alice'): Promise<string> {
  const req = chatRequest(nextId(), line, person);
  await stack.bot.core.handle(req, targetOf(req));
  return req.id;
}
async function ask(line: string, person = 'alice'): Promise<Reply> {
  return adapter.finalReply(await send(line, person));
}
const text = (r: Reply) => [r.title, ...r.blocks.map((b) => ('text' in b ? b.text : JSON.stringify(b)))].join('\n');

/** The approval id of a request that asked for one (from its card). */
async function approvalOf(requestId: string): Promise<string> {
  const card = () => adapter.delivered.find((d) => d.target.requestId === requestId && /Approval needed/.test(text(d.reply)));
  await adapter.until(() => card() !== undefined, 10_000, `the approval card of ${requestId}`);
  return /— ([A-Z2-9]{6})/.exec(text(card()?.reply as Reply))?.[1] ?? '';
}

const DAY_MS = 86_400_000;

async function mix(): Promise<void> {
  for (const line of ['list', 'status', 'show web', 'uptime xen1', 'info xen2', 'frobnicate', 'stop nosuch']) await ask(line);
  await ask('start mail', 'carol');
  expect((await ask('start mail')).title).toBe('mail started on xen1');
  const store = new ApprovalStore(redis, stack.prefix);
  // Approved: its record and buttons live as long as it may be decided, and a day past for late clicks.
  let r = await send('stop mail --force');
  let id = await approvalOf(r);
  const rec = await store.get(id);
  expect(await redis.pttl(`${stack.prefix}:approval:${id}`)).toBeGreaterThan((rec?.expiresAt ?? 0) - Date.now() + DAY_MS - 60_000);
  await ask(`approve ${id}`, 'bob');
  const ran = () => adapter.delivered.some((d) => d.target.requestId === r && / on xen1$/.test(d.reply.title));
  await adapter.until(ran, 15_000, "the approved stop's result").catch((e: unknown) => {
    const seen = adapter.delivered.filter((d) => d.target.requestId === r).map((d) => text(d.reply));
    throw new Error(
      `${String(e)}; delivered: ${JSON.stringify(seen)}; output: ${JSON.stringify(adapter.delivered.slice(-4).map((d) => text(d.reply)))}`,
    );
  });
  // Denied.
  r = await send('pause web');
  id = await approvalOf(r);
  await ask(`deny ${id} not now`, 'bob');
  // Expired.
  r = await send('pause web');
  id = await approvalOf(r);
  await store.update(id, (x) => ({ ...x, expiresAt: Date.now() - 60_000 }));
  expect((await ask(`approve ${id}`, 'bob')).title).toBe(`${id} expired`);
  await ask('freeze xen2 1h maintenance');
  await ask('unfreeze xen2');
  await ask('oncall set bob 1h');
  // A button.
  const click: ActionClick = {
    id: nextId(),
    actionId: await stack.bot.createAction('list', { host: 'xen1' }),
    platform: 'terminal',
    actor: { platform: 'terminal', userId: 'alice', roleIds: [], displayName: 'alice' },
    channel: { id: 'terminal', kind: 'direct' },
    receivedAt: Date.now(),
  };
  await stack.bot.core.handleAction(click, { platform: 'terminal', channelId: 'terminal', requestId: click.id, state: {} });
  await adapter.finalReply(click.id);
  // A schedule that ticks, then is removed.
  for (const mode of ['post', 'edit']) {
    const added = await ask(`schedule add status every 5s mode:${mode}`);
    const sid = /^Schedule (S[A-Z0-9]{5}) added$/.exec(added.title)?.[1] ?? '';
    expect(sid).not.toBe('');
    await adapter.until(() => adapter.delivered.some((d) => d.target.requestId.startsWith(`sched-${sid}-`)), 15_000, `a post of ${sid}`);
    expect((await ask(`schedule remove ${sid}`)).title).toBe(`Schedule ${sid} removed`);
  }
  // An alert: a guest started outside xenops, then gone.
  const xen1 = stack.sim.fleet.hosts.get('xen1');
  if (!xen1) throw new Error('no xen1');
  const alerts = () => adapter.delivered.filter((d) => d.target.channelId === 'alerts').length;
  const before = alerts();
  const name = `tmp${n}`;
  stack.sim.fleet.addDomain(xen1, { name, memoryMiB: 64, vcpus: 1, flags: '-b----' });
  await adapter.until(() => alerts() > before, 20_000, 'the alert');
  const dom = xen1.domains.find((d) => d.name === name);
  if (dom) stack.sim.fleet.removeDomain(xen1, dom);
}

interface KeyInfo {
  key: string;
  type: string;
  ttl: number;
}

async function keys(): Promise<KeyInfo[]> {
  const all: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${stack.prefix}*`, 'COUNT', 1000);
    cursor = next;
    all.push(...found);
  } while (cursor !== '0');
  const out: KeyInfo[] = [];
  for (const k of all.sort()) {
    const [type, ttl] = await Promise.all([redis.type(k), redis.pttl(k)]);
    if (type !== 'none') out.push({ key: k.slice(stack.prefix.length + 1), type, ttl });
  }
  return out;
}

/** BullMQ's own keys of a queue (its job hashes are checked apart: each must carry its retention). */
const QUEUE_KEY =
  /^(host-[^:]+|xenops-schedules-[a-z]+):(id|meta|events|completed|failed|wait|paused|active|prioritized|delayed|marker|pc|stalled|stalled-check|repeat|limiter|de)$/;
const JOB_KEY = /^(host-[^:]+|xenops-schedules-[a-z]+):(.+)$/;

/**
 * The keys that never expire, by family: each bounded by something other than time — one per host, a stream
 * written with MAXLEN, a queue's structure — or a job hash that BullMQ removes by its own retention.
 */
async function unbounded(found: KeyInfo[]): Promise<string[]> {
  const bad: string[] = [];
  for (const k of found) {
    if (k.ttl > 0) {
      // Days, not years: the longest is a schedule's snapshot (400 days, deleted with its schedule).
      if (k.ttl > 400 * DAY_MS) bad.push(`${k.key} (TTL ${k.ttl} ms)`);
      continue;
    }
    if (['agents', 'freezes', 'fleet-hosts', 'audit:head', 'schedules'].includes(k.key)) continue;
    if ((k.key === 'audit' || k.key === 'fleet-events') && k.type === 'stream') continue;
    if (QUEUE_KEY.test(k.key)) continue;
    if (JOB_KEY.test(k.key) && k.type === 'hash') {
      const opts = JSON.parse((await redis.hget(`${stack.prefix}:${k.key}`, 'opts')) ?? '{}') as Record<string, unknown>;
      if (opts['removeOnComplete'] !== undefined && opts['removeOnFail'] !== undefined) continue;
      bad.push(`${k.key} (a job kept for ever: ${JSON.stringify(opts)})`);
      continue;
    }
    bad.push(`${k.key} (${k.type}, no TTL)`);
  }
  return bad;
}

describe('what xenops leaves in Redis', () => {
  it('every key expires or is bounded, and running the mix again adds no key that never expires', async () => {
    await ask('list');
    await mix();
    const once = await keys();
    expect(await unbounded(once)).toEqual([]);
    await mix();
    await mix();
    const thrice = await keys();
    expect(await unbounded(thrice)).toEqual([]);
    // Never expiring and not a job hash: the same keys after three rounds as after one.
    const lasting = (ks: KeyInfo[]) =>
      ks.filter((k) => k.ttl < 0 && !(JOB_KEY.test(k.key) && k.type === 'hash' && !QUEUE_KEY.test(k.key))).map((k) => k.key);
    expect(lasting(thrice)).toEqual(lasting(once));
    // The history of each host expires (its span after its last point), and the alerts' group holds this bot alone.
    for (const host of ['xen1', 'xen2']) expect(await redis.pttl(`${stack.prefix}:history:${host}`)).toBeGreaterThan(0);
    const consumers = (await redis.xinfo('CONSUMERS', `${stack.prefix}:fleet-events`, 'alerts')) as unknown[];
    expect(consumers.length).toBeLessThanOrEqual(1);
    // The hosts' queues and heartbeats (no TTL) are the running bot's and agent's: none is taken for one left behind
    // by a host out of the config, even asked with no config at all.
    expect(await hostsLeftBehind(redis, stack.prefix, [], 10_000)).toEqual([]);
  }, 180_000);
});
