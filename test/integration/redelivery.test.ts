import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { ReplyTarget } from '../../src/adapters/types.ts';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { type OperatorsStack, operatorsPerTest, sendAs } from '../helpers/operators.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { twoHostFleet } from '../helpers/sim.ts';

/** The same person sending the same command twice, and two operators on one domain: the real bot, agent, Redis, sim. */

/** A CaptureAdapter that, as a chat platform, gives each new message an id, kept in the target for its edits. */
class Messages extends CaptureAdapter {
  private posted = 0;
  override async deliver(target: ReplyTarget, r: Reply): Promise<ReplyTarget> {
    const message = target.state['message'] ?? `m${++this.posted}`;
    const t = { ...target, state: { ...target.state, message } };
    await super.deliver(t, r);
    return t;
  }
}

type Stack = OperatorsStack<Messages>;
const startOn = operatorsPerTest(() => new Messages());
const start = () => startOn(twoHostFleet());

let counter = 0;
const send = (s: Stack, text: string, user = 'alice', id = `hr-${++counter}`) => sendAs(s, text, user, id);
function textOf(r: Reply): string {
  return r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text)).join('\n');
}
const creates = (s: Stack) => s.env.sim.fleet.log.entries.filter((e) => /\bxl create\b/.test(e.command.replace(/'/g, '')));

describe('the same request delivered twice (a double click, a redelivered chat event)', () => {
  it('while the first still runs: one create, one final reply', async () => {
    const s = await start();
    s.env.sim.faults.delayNext('xen1', { match: /\bcreate\b/, ms: 1_000 });
    const id = await send(s, 'start mail');
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bcreate\b/, timeoutMs: 10_000 });
    await send(s, 'start mail', 'alice', id);
    const r = await s.adapter.finalReply(id);
    expect(r.title).toBe('mail started on xen1');
    expect(creates(s)).toHaveLength(1);
    // Nothing more comes for it.
    const probe = await send(s, 'list xen2');
    await s.adapter.finalReply(probe);
    expect(s.adapter.finals(id)).toHaveLength(1);
    // Every chat message posted for it ends as the result, not as a stale progress line: the last delivery to each.
    const last = new Map<unknown, string>();
    for (const d of s.adapter.delivered.filter((x) => x.target.requestId === id))
      last.set(d.target.state['message'] ?? `new-${last.size}`, `${d.reply.kind}: ${textOf(d.reply)}`);
    expect([...last.values()].filter((v) => !v.startsWith('result'))).toEqual([]);
  }, 30_000);

  it('after the first finished: nothing runs again, and the domain is not left locked against the next operator', async () => {
    const s = await start();
    const id = await send(s, 'start mail');
    expect((await s.adapter.finalReply(id)).title).toBe('mail started on xen1');
    // The same event again (a late double click / redelivery), after the result was delivered.
    const before = s.adapter.delivered.length;
    await send(s, 'start mail', 'alice', id);
    // bob, a moment later, stops mail: the lock alice's replay took must not make him wait a minute and a half.
    const bobs = await send(s, 'stop mail', 'bob');
    const r = await s.adapter.finalReply(bobs);
    expect(creates(s)).toHaveLength(1);
    expect(textOf(r)).not.toMatch(/busy/);
    expect(r.title).toBe('mail shut down on xen1');
    // What alice is shown for the replay: a new "queued on xen1" message (nothing will ever answer it: the final reply
    // was claimed by the first delivery).
    const replay = s.adapter.delivered
      .slice(before)
      .filter((d) => d.target.requestId === id)
      .map((d) => `${d.reply.kind}: ${textOf(d.reply)}`);
    expect(replay).not.toContain('progress: queued on xen1');
  }, 30_000);
});

describe('a change the bot makes itself, delivered twice', () => {
  it('/oncall set and /freeze delivered again are dropped: one override, and nothing answers the replays', async () => {
    const s = await start();
    const redis = new Redis(REDIS_URL);
    try {
      const set = await send(s, 'oncall set bob 2h');
      expect((await s.adapter.finalReply(set)).title).toMatch(/^bob is on call/);
      const freeze = await send(s, 'freeze xen2 2h kernel update');
      expect((await s.adapter.finalReply(freeze)).kind).toBe('result');
      const before = s.adapter.delivered.length;
      // The same two events again (a redelivered Telegram update after a leader change).
      await send(s, 'oncall set bob 2h', 'alice', set);
      await send(s, 'freeze xen2 2h kernel update', 'alice', freeze);
      expect(await redis.zcard(`${s.prefix}:oncall:overrides`)).toBe(1);
      expect(s.adapter.delivered.slice(before).filter((d) => d.target.requestId === set || d.target.requestId === freeze)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});

describe('typed twice: two requests', () => {
  it('the second is refused at once as busy with the first, which runs once', async () => {
    const s = await start();
    s.env.sim.faults.delayNext('xen1', { match: /\bcreate\b/, ms: 1_000 });
    const first = await send(s, 'start mail');
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bcreate\b/, timeoutMs: 10_000 });
    const second = await send(s, 'start mail');
    const r2 = await s.adapter.finalReply(second);
    expect(r2.title).toBe('Busy');
    expect(textOf(r2)).toContain(`mail is busy: alice's start on xen1 (request ${first}`);
    expect((await s.adapter.finalReply(first)).title).toBe('mail started on xen1');
    expect(creates(s)).toHaveLength(1);
  }, 30_000);
});

describe('/autostart on while a migration of that guest runs', () => {
  it('is refused as busy, naming the migration; no ln is sent', async () => {
    const s = await start();
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b/, ms: 1_500 });
    const mig = await send(s, 'migrate web xen2');
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b/, timeoutMs: 10_000 });
    const auto = await send(s, 'autostart web on', 'bob');
    const r = await s.adapter.finalReply(auto);
    expect(r.title).toBe('Busy');
    expect(textOf(r)).toContain("web is busy: alice's migration from xen1 to xen2");
    await s.adapter.finalReply(mig);
    expect(s.env.sim.fleet.log.entries.filter((e) => /^ln /.test(e.command))).toEqual([]);
    const redis = new Redis(REDIS_URL);
    expect(await redis.get(`${s.prefix}:lock:web`)).toBeNull();
    redis.disconnect();
  }, 30_000);
});
