import { describe, expect, it } from 'vitest';
import { tickOfRequest } from '../../src/app/schedules.ts';
import { proxiedBot, SILENT_TIMINGS } from '../helpers/proxied-bot.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { simBotConfig } from '../helpers/sim.ts';

/**
 * Only BullMQ's shared connection goes silent, both ways, and stays open: a NAT or firewall that forgot just that
 * flow. The bot's own connection answers, so its periodic write never finds anything wrong, and that client has no
 * command timeout (the blocking connections BullMQ duplicates from it would inherit one). The schedules' Worker takes
 * its ticks on it: without something noticing, no schedule posts until TCP gives up (some 15 minutes), though Redis
 * answers a new connection at once.
 */
const EVERY_MS = 5_000;
const scene = proxiedBot({
  config: (env, prefix) => ({
    ...simBotConfig(env, prefix, REDIS_URL),
    schedules: {
      board: { what: 'status', every: `${EVERY_MS / 1000}s`, channel: { platform: 'terminal', id: 'ops' }, mode: 'post', as: 'alice' },
    },
  }),
});

/** The schedules' scheduler read (syncConfig's list, each checkMs): a command only BullMQ's shared client sends. */
const schedulersRead = (d: Buffer) => {
  const t = d.toString('latin1');
  return /zrange/i.test(t) && t.includes('xenops-schedules-terminal:repeat');
};

/** Due times (epoch ms) of the board's posts so far. */
const posted = () =>
  scene.adapter.delivered.flatMap((d) => {
    const tick = tickOfRequest(d.target.requestId);
    return tick?.id === 'cfg-board' ? [tick.at] : [];
  });

describe("only BullMQ's shared connection gone silent, both ways, while Redis answers new connections", () => {
  it('THEN the schedules post again within silentReconnectMs and a tick or two: that connection alone is replaced', async () => {
    // BullMQ runs an `every` scheduler's first tick at once.
    await scene.adapter.until(() => posted().length > 0, 20_000, 'the first post of the board');
    const frozen = scene.proxy.freezeAt(schedulersRead, 'both');
    await frozen;
    const frozenAt = Date.now();
    // The bot's own connection answers: what replaces every connection when that one goes silent never fires.
    expect((await scene.bot.readiness()).find((c) => c.name === 'redis')?.ok).toBe(true);
    // A tick in flight as the flow froze may still post: one due after it must.
    const within = SILENT_TIMINGS.silentReconnectMs + 2 * EVERY_MS + 6_000;
    await scene.adapter.until(
      () => posted().some((at) => at > frozenAt),
      within,
      `a post of a tick due after the freeze, within ${within} ms`,
    );
    // Goes on posting: not one tick that slipped through.
    const after = Date.now();
    await scene.adapter.until(() => posted().some((at) => at > after), 2 * EVERY_MS + 3_000, 'the next post');
    // Its other readers answer again too: /schedule list (which hung), and the queue depths /metrics left out.
    expect((await scene.ask('bull-silent-list', 'schedule list', { waitMs: 5_000 })).title).toBe('1 schedule');
    expect(await scene.bot.metrics.registry.metrics()).toMatch(/^xenops_queue_jobs\{host="xen1",state="waiting"\} \d+$/m);
  }, 60_000);
});
