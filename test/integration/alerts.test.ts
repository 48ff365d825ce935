import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../src/core/reply.ts';
import { FleetEventLog } from '../../src/queue/fleet-events.ts';
import { sampled, startAlertsStack } from '../helpers/alerts-stack.ts';
import type { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import type { TestStack } from '../helpers/stack.ts';

/**
 * Alerts end to end: the agent's sampler sees the simulated hosts change, the bot posts to the alert channel — at
 * once, once per cool-down, and never for what xenops did itself. Also /top chart:true and /digest with their PNGs.
 */
let stack: TestStack;
let adapter: CaptureAdapter;

beforeAll(async () => {
  ({ stack, adapter } = await startAlertsStack());
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const alerts = () => adapter.delivered.filter((d) => d.target.channelId === 'alerts').map((d) => d.reply);
const waitForAlert = async (title: string, timeoutMs = 20_000): Promise<Reply> => {
  await adapter.until(() => alerts().some((a) => a.title === title), timeoutMs, `the alert "${title}"`);
  return alerts().find((a) => a.title === title) as Reply;
};

async function ask(line: string): Promise<Reply> {
  const req = chatRequest(`a-${Math.random().toString(36).slice(2)}`, line, 'alice');
  await stack.bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

describe('alerts', () => {
  it('a guest started outside xenops is announced at once; the same alert again is held by the cool-down', async () => {
    await sampled(stack, 'xen1');
    const xen1 = stack.sim.fleet.hosts.get('xen1');
    if (!xen1) throw new Error('no xen1');
    stack.sim.fleet.addDomain(xen1, { name: 'mail', memoryMiB: 1024, vcpus: 2, flags: '-b----' });
    const alert = await waitForAlert('mail started on xen1');
    expect(alert.tone).toBe('warning');
    expect(alert.blocks[0]).toMatchObject({
      type: 'text',
      text: expect.stringMatching(/^mail started on xen1 outside xenops\. \(seen \d\d:\d\d:\d\d UTC\)$/),
    });
    // The same event once more (a second agent, a re-read): the cool-down holds it.
    const redis = new Redis(REDIS_URL);
    const log = new FleetEventLog(redis, stack.prefix);
    await log.append({ kind: 'domain.started', host: 'xen1', domain: 'mail', uuid: null, byXenops: false, at: Date.now() });
    // A different alert after it proves the first was read and skipped, not still in flight.
    await log.append({ kind: 'domain.crashed', host: 'xen2', domain: 'files', uuid: null, byXenops: false, at: Date.now() });
    await waitForAlert('files crashed on xen2');
    expect(alerts().filter((a) => a.title === 'mail started on xen1')).toHaveLength(1);
    redis.disconnect();
  }, 40_000);

  it('a stop made through xenops raises no alert; the same stop made by hand does', async () => {
    const stopped = await ask('stop gateway');
    expect(stopped.title).toBe('gateway shut down on xen1');
    // web stopped behind xenops' back: its alert arriving after gateway's stop proves the sampler saw both.
    const xen1 = stack.sim.fleet.hosts.get('xen1');
    const web = xen1?.domains.find((d) => d.name === 'web');
    if (!xen1 || !web) throw new Error('no web on xen1');
    stack.sim.fleet.removeDomain(xen1, web);
    // Its config file stays: a guest gone whose config is still there is stopped (vanished = no trace left).
    await waitForAlert('web stopped on xen1');
    expect(alerts().map((a) => a.title)).not.toContain('gateway stopped on xen1');
  }, 40_000);
});

describe('charts on replies', () => {
  it('/top xen1 chart:true attaches a PNG of the last hour; /digest gives figures per domain and a chart per host', async () => {
    // A few history points first (one per second here; nothing announces them, so the list is polled, bounded).
    const redis = new Redis(REDIS_URL);
    for (let i = 0; i < 50; i++) {
      if ((await redis.llen(`${stack.prefix}:history:xen1`)) >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    redis.disconnect();
    const top = await ask('top xen1 chart:true');
    const png = top.attachments?.find((a) => a.contentType === 'image/png');
    expect(png?.name).toBe('xen1-last-hour.png');
    expect(
      Buffer.from(png?.data as Uint8Array)
        .subarray(0, 8)
        .toString('hex'),
    ).toBe('89504e470d0a1a0a');
    const digest = await ask('digest xen1');
    expect(digest.title).toBe('Digest: the last 24 h');
    const rows = digest.blocks.flatMap((b) => (b.type === 'table' ? b.table.rows : []));
    // gateway ran for a while before it was stopped above: its figures come from the history.
    expect(rows.find((r) => r[1] === 'gateway')?.[2]).toMatch(/^\d+\.\d$/);
    expect(digest.attachments?.map((a) => a.name)).toEqual(['xen1-last-hour.png']);
  }, 60_000);
});
