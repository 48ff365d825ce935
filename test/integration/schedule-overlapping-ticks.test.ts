import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyTarget } from '../../src/adapters/types.ts';
import { scheduleMessageKey, scheduleSnapshotKey } from '../../src/app/schedules.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * Overlapping ticks of one schedule: a tick whose read of one host is slow is still on its way when the next tick is
 * due (or when leadership changes, and the new leader runs the next one). The later tick posts first; the earlier one
 * must not then put the schedule's bookkeeping back to what it saw: the edited message would show an older status
 * than the one it replaced, and the next post would say again what the later tick already said.
 */

class PinningAdapter extends CaptureAdapter {
  readonly pinned: ReplyTarget[] = [];
  async pin(target: ReplyTarget): Promise<void> {
    this.pinned.push(target);
  }
  postsOf(id: string): { target: ReplyTarget; reply: Reply }[] {
    return this.delivered.filter((d) => d.target.requestId.startsWith(`sched-${id}-`));
  }
}

let stack: TestStack;
let adapter: PinningAdapter;

beforeAll(async () => {
  stack = await startTestStack({
    makeAdapters: () => {
      adapter = new PinningAdapter('terminal');
      return [adapter];
    },
    adjustConfig: (c) => ({ ...c, approvals: { ...c.approvals, enabled: false } }),
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function ask(line: string): Promise<Reply> {
  const req = chatRequest(`r-${Math.random().toString(36).slice(2)}`, line, 'alice');
  await stack.bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

const text = (r: Reply) =>
  [r.title, ...r.blocks.map((b) => ('text' in b ? b.text : b.type === 'table' ? JSON.stringify(b.table.rows) : ''))].join('\n');

describe('two ticks of an edit schedule in flight at once, the earlier one slower', () => {
  it('the earlier tick does not overwrite what the later one posted and recorded', async () => {
    const added = await ask('schedule add status cron "0 8 29 2 *" mode:edit');
    const id = /^Schedule (S[A-Z0-9]{5}) added$/.exec(added.title)?.[1] ?? '';
    expect(id, text(added)).not.toBe('');
    const tick = (at: number) =>
      stack.bot.run({
        command: 'status',
        as: 'alice',
        channel: { platform: 'terminal', id: 'ops' },
        requestId: `sched-${id}-${at}`,
        schedule: { id, mode: 'edit' },
      });

    // A first post: the schedule's message, pinned, and what it saw.
    await tick(1_000);
    await adapter.until(() => adapter.postsOf(id).length === 1, 20_000, 'the first post');

    // Tick 2 (due at 2 000): xen1's read is held; it reads xen2 before relay appears there.
    const xen2 = stack.sim.fleet.hosts.get('xen2');
    if (!xen2) throw new Error('no xen2');
    let since = stack.sim.log.lastSeq;
    stack.sim.faults.delayNext('xen1', { match: /xl info/, ms: 3_000 });
    await tick(2_000);
    await stack.sim.log.waitFor({ host: 'xen1', match: /xl info/, since, timeoutMs: 10_000 });
    await stack.sim.log.waitFor({ host: 'xen2', match: /xl info/, since, timeoutMs: 10_000 });
    // Settled on xen2 (its list read too) before relay comes: tick 2 saw xen2 without it.
    await expect.poll(() => stack.sim.log.query({ host: 'xen2', since }).length, { timeout: 5_000 }).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 300)); // the rest of xen2's reads for tick 2 (no event tells them apart)
    stack.sim.fleet.addDomain(xen2, { name: 'relay', memoryMiB: 512, vcpus: 1, flags: '-b----' });

    // Tick 3 (due at 3 000) reads both hosts at once and posts first: relay appeared.
    since = stack.sim.log.lastSeq;
    await tick(3_000);
    await adapter.until(() => adapter.postsOf(id).some((p) => p.target.requestId === `sched-${id}-3000`), 20_000, 'tick 3');
    expect(text(adapter.postsOf(id).at(-1)?.reply as Reply)).toContain('+ relay appeared on xen2');
    // Then tick 2 ends (its request removed), its status older than tick 3's.
    const redis = new Redis(REDIS_URL);
    try {
      await expect.poll(() => redis.exists(`${stack.prefix}:pending:sched-${id}-2000`), { timeout: 20_000 }).toBe(0);
      // What the channel shows now (the last edit of the schedule's message) still has relay in it.
      expect(text(adapter.postsOf(id).at(-1)?.reply as Reply)).toContain('relay');
      // And the schedule's record of what it last showed includes relay too.
      const snapshot = JSON.parse((await redis.get(scheduleSnapshotKey(stack.prefix, id))) ?? 'null') as {
        hosts: Record<string, { domains: { name: string }[] | null }>;
      } | null;
      expect(snapshot?.hosts['xen2']?.domains?.map((d) => d.name)).toContain('relay');
      expect(await redis.exists(scheduleMessageKey(stack.prefix, id))).toBe(1);
    } finally {
      redis.disconnect();
    }

    // The next tick does not announce relay again, and edits the same message (one pinned).
    await tick(4_000);
    await adapter.until(() => adapter.postsOf(id).some((p) => p.target.requestId === `sched-${id}-4000`), 20_000, 'tick 4');
    const last = adapter.postsOf(id).find((p) => p.target.requestId === `sched-${id}-4000`);
    expect(text(last?.reply as Reply)).not.toContain('relay appeared');
    expect(adapter.pinned).toHaveLength(1);
  }, 60_000);
});
