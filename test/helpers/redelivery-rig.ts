import { afterAll, beforeAll } from 'vitest';
import type { Agent } from '../../src/agent/agent.ts';
import { type AgentRig, startRig } from '../integration/agent-support.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from './sim.ts';

/**
 * BullMQ's own lock on a job: long enough to outlive the runs' timing unless a test takes it away (deletes the lock
 * key, as a Redis blip longer than lockDuration would let it lapse), and checked often, so the job is then handed out
 * again within a second.
 */
export const REDELIVERY_TIMINGS = { lockDurationMs: 2000, stalledIntervalMs: 300 };

export interface RedeliveryRig {
  env: SimEnv;
  rig: AgentRig;
  agent: Agent;
}

/**
 * One agent on the two-host simulated fleet, with REDELIVERY_TIMINGS, for a test file whose jobs BullMQ hands out
 * again while their first run still runs. Started before the file's tests, stopped after them; call at the top of
 * the file and read its fields inside the tests.
 */
export function redeliveryRig(): RedeliveryRig {
  let env: SimEnv | undefined;
  let rig: AgentRig | undefined;
  let agent: Agent | undefined;
  beforeAll(async () => {
    env = await startSimEnv({ fleet: twoHostFleet() });
    rig = await startRig(env);
    agent = await rig.startAgent({ timings: REDELIVERY_TIMINGS });
  }, 30_000);
  afterAll(async () => {
    await rig?.stop();
    await env?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('redeliveryRig: not started (call it at the top of the file)');
    return value;
  };
  return {
    get env() {
      return started(env);
    },
    get rig() {
      return started(rig);
    },
    get agent() {
      return started(agent);
    },
  };
}
