import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessHarness } from '../helpers/processes.ts';
import { ask, received, startRun } from './support.ts';

/**
 * Two agents serving the same hosts, as processes (sim, agents and a terminal bot), as an operator runs them: one
 * stopping leaves the hosts served.
 */
let run: Awaited<ReturnType<typeof startRun>> | null = null;
let harness: ProcessHarness | null = null;

afterEach(async () => {
  await (run?.h ?? harness)?.stopAll();
  run = null;
  harness = null;
});

describe('two agents serving the same hosts', () => {
  it('one of them stopping (SIGTERM) does not make the hosts the other serves "no agent"', async () => {
    // A heartbeat well below bot.agentStaleMs (10 s), as allowed; long enough to see what the bot reads between beats.
    run = await startRun({ edits: { 'agent.heartbeatMs': 8000 } });
    const second = await run.h.startAgent();
    // Both agents beat for xen1 and xen2; the first one now stops, as in a rolling restart.
    run.agent?.kill('SIGTERM');
    const exit = await run.agent?.exited;
    expect(exit?.code).toBe(0);
    expect(second.done).toBe(false);
    const { lastSeq } = await run.sim.log();
    // The second agent still serves xen1: a mutation must be taken and run, not refused.
    const answer = await ask(run.bot, '/start mail');
    expect(answer.title).toBe('✔ mail started on xen1');
    expect(await received(run.sim, 'xen1', /\bcreate\b/, lastSeq)).toBe(1);
  });
});
