import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import type { Config } from '../../src/config/schema.ts';
import { FleetHosts } from '../../src/queue/coordination.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { quietLogger, type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { type AgentRig, FAST, meta, startRig } from './agent-support.ts';

/**
 * An agent whose config lacks a host the bots' config has (xen2): its checks across the fleet ("a guest runs at most
 * once") cannot read xen2, and must not leave it out.
 */
let env: SimEnv;
let rig: AgentRig;
let agent: Agent | null = null;
let bot: Bot | null = null;

beforeAll(async () => {
  // files runs on xen2 and is also defined on xen1 (its config file is there).
  env = await startSimEnv({ fleet: twoHostFleet([{ name: 'files', memoryMiB: 1024, vcpus: 1, running: false }]) });
  rig = await startRig(env);
});

afterAll(async () => {
  await bot?.stop();
  await agent?.close(0);
  await rig?.stop();
  await env?.stop();
});

describe('an agent whose config lacks a host the bots have', () => {
  it('the bot says which hosts its config has', async () => {
    bot = await createBot({ config: rig.config, redis: REDIS_URL, logger: quietLogger, adapters: [new CaptureAdapter()] });
    await bot.start();
    expect(await new FleetHosts(rig.redis, rig.prefix).read()).toEqual(['xen1', 'xen2']);
  });

  it('refuses a start on xen1 of a guest it cannot check on xen2 (running there), naming why; nothing is created', async () => {
    const { xen2: _dropped, ...xen1Only } = rig.config.hosts;
    const config: Config = { ...rig.config, hosts: xen1Only };
    agent = await startAgent({
      config,
      runner: env.pool(),
      connection: REDIS_URL,
      prefix: rig.prefix,
      logger: quietLogger,
      hosts: ['xen1'],
      timings: FAST,
    });
    // What the bot queues once its precheck passed (on a view from before files was started on xen2, say).
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'files', meta: meta({ command: 'start' }) });
    const outcome = await rig.outcome(job, 20_000);
    expect(outcome).toMatchObject({
      ok: false,
      failure: {
        code: 'domain.elsewhere',
        message: "cannot confirm files is not running on xen2 (not in this agent's config, though the bot's has it): not starting it",
      },
    });
    expect(env.sim.log.query({ host: 'xen1', match: /\bcreate\b/ })).toEqual([]);
  });
});
