import { describe, expect, it } from 'vitest';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { simBotConfig } from '../helpers/sim.ts';
import { type SimStack, simStacks } from '../helpers/sim-stack.ts';

/**
 * An evacuation that leaves a paused guest on its host (a migration would unpause it), against the simulator: every
 * step succeeds, yet the host still holds that guest — a reboot of it would end the guest — so the reply must not
 * call it evacuated. Also what the plan's progress and final reply count and say: its migrations, not its read-back,
 * and the freeze once.
 */
const startStack = simStacks();

/** xen1 runs db and gateway and holds web paused; xen2 has room for all. The "queued" line is not held back. */
function start(): Promise<SimStack> {
  return startStack(
    {
      hosts: {
        xen1: {
          toolstack: 'xl',
          totalMemoryMiB: 16384,
          domains: [
            { name: 'web', memoryMiB: 2048, vcpus: 1, running: true, state: '--p---' },
            { name: 'db', memoryMiB: 1024, vcpus: 1, running: true },
            { name: 'gateway', memoryMiB: 512, vcpus: 1, running: true },
          ],
        },
        xen2: { toolstack: 'xl', totalMemoryMiB: 16384, domains: [] },
      },
    },
    (env, prefix) => {
      const base = simBotConfig(env, prefix, REDIS_URL);
      return { ...base, bot: { ...base.bot, queuedReplyDelayMs: 0 } };
    },
  );
}

function textOf(r: Reply): string {
  return [r.title ?? '', ...r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text))].join(
    '\n',
  );
}

describe('/evacuate xen1 with web paused there', () => {
  it('GIVEN web paused on xen1 THEN db and gateway move, the reply names web as left there, never "evacuated"; steps are counted 1 and 2 of 2; the freeze is said once', async () => {
    const { adapter, env, bot } = await start();
    const req = chatRequest('left-1', 'evacuate xen1');
    await bot.core.handle(req, targetOf(req));
    const r = await adapter.finalReply('left-1');
    const said = textOf(r);
    expect(said).toContain('left on xen1: web (paused (a migration would unpause it)) — not migrated');
    expect(r.title).toBe('xen1 is not empty: 2 guests moved, but web (paused) is there (the plan left it there: see below)');
    expect(r.tone).toBe('warning');
    expect(said).not.toMatch(/evacuated:|no guest runs/);
    expect(said).toContain(
      'read back after the last step: xen1 still holds web (paused), so it is not evacuated — what is left goes down with xen1',
    );
    // What the simulated host really holds: web, paused, as the reply says.
    expect(
      env.sim.fleet
        .host('xen1')
        .domains.filter((d) => d.name !== 'Domain-0')
        .map((d) => [d.name, d.flags]),
    ).toEqual([['web', '--p---']]);
    // Frozen all the same (every step succeeded): said once, not again as the plan's "once every step has succeeded".
    expect(said).toContain('xen1 is now frozen (mutating commands refused) until /unfreeze');
    expect(said).not.toContain('once every step has succeeded');
    // The progress counts the plan's steps as its card does ("2 steps"): the read-back is no step of it.
    const progress = adapter.delivered
      .filter((d) => d.target.requestId === 'left-1' && d.reply.kind === 'progress')
      .map((d) => d.reply.blocks.map((b) => (b.type === 'text' ? b.text : '')).join('\n'));
    expect(progress).toContain('queued on 2 steps');
    expect(progress).toContain('step 2 of 2 queued on xen1');
    expect(progress.join('\n')).not.toMatch(/ of 3|3 steps/);
  });
});
