import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../src/core/reply.ts';
import { runCommand } from '../../src/sim/interpreter.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * A guest running on two hosts at once, made outside xenops (started by hand on a second host; a migration whose
 * source copy was resumed): the worst state a fleet can be in. The operator is told at once, by one critical alert
 * naming both hosts, and told when one copy is gone; /list marks it. A migration made by hand is no such state.
 */
let stack: TestStack;
let adapter: CaptureAdapter;

beforeAll(async () => {
  stack = await startTestStack({
    makeAdapters: () => {
      adapter = new CaptureAdapter('terminal');
      return [adapter];
    },
    adjustConfig: (c) => ({
      ...c,
      approvals: { ...c.approvals, enabled: false },
      sampling: { ...c.sampling, intervalSeconds: 1, historyEverySeconds: 1 },
      alerts: { enabled: true, channels: [{ platform: 'terminal', id: 'alerts' }], cooldownMinutes: 10 },
    }),
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const alerts = () => adapter.delivered.filter((d) => d.target.channelId === 'alerts').map((d) => d.reply);
const titles = () => alerts().map((a) => a.title);
const waitForAlert = async (title: string, timeoutMs = 15_000): Promise<Reply> => {
  await adapter.until(() => titles().includes(title), timeoutMs, `the alert "${title}"`);
  return alerts().find((a) => a.title === title) as Reply;
};
const text = (r: Reply) => r.blocks.map((b) => (b.type === 'text' ? b.text : '')).join('\n');

async function ask(line: string): Promise<Reply> {
  const req = chatRequest(`a-${Math.random().toString(36).slice(2)}`, line, 'alice');
  await stack.bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

/** Until the host's sampler has its baseline and a first sample (a change before that is part of the baseline). */
async function sampled(...hosts: string[]): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    for (const host of hosts)
      for (let i = 0; i < 100 && !(await redis.exists(`${stack.prefix}:sample:${host}`)); i++) await new Promise((r) => setTimeout(r, 100));
  } finally {
    redis.disconnect();
  }
}

describe('a guest running on two hosts at once', () => {
  it('web started by hand on xen2 (same name and UUID) while it runs on xen1: one critical alert naming both, its end said', async () => {
    await sampled('xen1', 'xen2');
    const xen1 = stack.sim.fleet.host('xen1');
    const xen2 = stack.sim.fleet.host('xen2');
    const web = xen1.domains.find((d) => d.name === 'web');
    if (!web) throw new Error('no web on xen1');
    const copy = stack.sim.fleet.addDomain(xen2, { name: 'web', uuid: web.uuid, memoryMiB: 2048, vcpus: 2, flags: '-b----' });
    const alert = await waitForAlert('web is running on xen1 and xen2 at once');
    expect(alert.tone).toBe('error');
    expect(text(alert)).toMatch(/two copies on the same disks: stop one now/);

    // /list of the fleet says so, not only two rows of web.
    const listed = await ask('list');
    expect(text(listed)).toMatch(/web is running on xen1 and xen2 at once/);

    stack.sim.fleet.removeDomain(xen2, copy);
    const ended = await waitForAlert('web runs on xen1 only again');
    expect(ended.tone).toBe('success');
    // Said once while it lasted (the cool-down is 10 min here: no reminder yet), and once when it ended.
    expect(titles().filter((t) => t === 'web is running on xen1 and xen2 at once')).toHaveLength(1);
    expect(titles().filter((t) => t === 'web runs on xen1 only again')).toHaveLength(1);
  }, 40_000);

  it('the same state again later is said again, whatever the cool-down', async () => {
    const xen2 = stack.sim.fleet.host('xen2');
    const copy = stack.sim.fleet.addDomain(xen2, { name: 'web', memoryMiB: 2048, vcpus: 2, flags: '-b----' });
    await adapter.until(
      () => titles().filter((t) => t === 'web is running on xen1 and xen2 at once').length === 2,
      15_000,
      'the second split alert',
    );
    stack.sim.fleet.removeDomain(xen2, copy);
    await adapter.until(() => titles().filter((t) => t === 'web runs on xen1 only again').length === 2, 15_000, 'its second end');
  }, 40_000);

  it('a migration made by hand (xl migrate) is no split brain', async () => {
    const before = titles().length;
    const xen1 = stack.sim.fleet.host('xen1');
    const io = {
      out: () => {},
      err: () => {},
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms * 5)),
      signal: new AbortController().signal,
    };
    expect(await runCommand(stack.sim.fleet, xen1, 'xl migrate gateway xen2', io, { shutdownDelayMs: 0 })).toBe(0);
    await waitForAlert('gateway moved to xen2');
    // A later split, said after anything the watch would have said of gateway.
    const copy = stack.sim.fleet.addDomain(stack.sim.fleet.host('xen2'), { name: 'web', memoryMiB: 2048, vcpus: 2, flags: '-b----' });
    await adapter.until(
      () => titles().filter((t) => t === 'web is running on xen1 and xen2 at once').length === 3,
      15_000,
      'the sentinel split alert',
    );
    stack.sim.fleet.removeDomain(stack.sim.fleet.host('xen2'), copy);
    expect(
      titles()
        .slice(before)
        .filter((t) => /gateway/.test(t)),
    ).toEqual(['gateway moved to xen2']);
  }, 40_000);
});
