import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.ts';
import { type SimEnv, startSimEnv } from '../helpers/sim.ts';
import { type AgentRig, meta, startRig } from './agent-support.ts';

/**
 * /start of a domain that is present on the host but not running: crashed and preserved (`--psc-`, on_crash =
 * "preserve"), or shut down and not reaped (`---s--`). Real simulator, real Redis, real agent; the reply is the
 * command's own render of the job's outcome (what the bot posts).
 */
let env: SimEnv;
let rig: AgentRig;
let agent: Agent;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [
            { name: 'crashy', memoryMiB: 1024, vcpus: 1, running: true, state: '--psc-' },
            { name: 'halted', memoryMiB: 1024, vcpus: 1, running: true, state: '---s--' },
          ],
        },
        xen2: { toolstack: 'xl', domains: [] },
      },
    },
  });
  rig = await startRig(env);
  agent = await rig.startAgent();
}, 30_000);
afterAll(async () => {
  await rig?.stop();
  await env?.stop();
});
afterEach(() => env.sim.faults.clear());

async function startOutcome(domain: string) {
  const since = env.sim.log.lastSeq;
  const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain, meta: meta({ command: 'start' }) });
  const outcome = await rig.outcome(job);
  return { outcome, creates: env.sim.log.query({ host: 'xen1', since, match: /xl create/ }).length };
}

describe('/start of a domain that is present but not running', () => {
  // Was "crashy is already running on xen1 — state crashed": every status but "defined" counted as running.
  it('a crashed (preserved) domain is refused, saying so and what to do; nothing is created', async () => {
    expect(agent).toBeDefined();
    const { outcome, creates } = await startOutcome('crashy');
    expect(outcome).toMatchObject({ ok: false, failure: { code: 'rejected' } });
    expect(outcome.ok ? '' : outcome.failure.message).toMatch(/crashy is crashed on xen1 \(--psc-\), not running: .*stop it with force/);
    expect(creates).toBe(0);
  });

  it('a shut-down domain not yet cleared away is refused the same way', async () => {
    const { outcome, creates } = await startOutcome('halted');
    expect(outcome.ok ? '' : outcome.failure.message).toMatch(/halted is shutdown on xen1 \(---s--\), not running/);
    expect(creates).toBe(0);
  });
});
