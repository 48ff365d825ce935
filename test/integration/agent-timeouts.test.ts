import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { type AgentRig, meta, startRig } from './agent-support.ts';

/**
 * A host whose toolstack hangs (never answers) or whose connection drops, seen from the job's outcome — what the
 * operator reads in chat: a read never says "outcome unknown", a mutation says whether its command timed out or the
 * connection went, and the agent's answer comes before the bot's own read timeout.
 */
let env: SimEnv;
beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet() });
});
afterAll(async () => {
  await env?.stop();
});
afterEach(() => {
  env.sim.faults.clear();
});

const sent = (host: string, since: number, re: RegExp) => env.sim.log.query({ host, since, match: re }).map((e) => e.command);
const said = (o: Awaited<ReturnType<AgentRig['outcome']>>) => (o.ok ? 'ok' : `${o.failure.code}: ${o.failure.message}`);

describe('toolstack: auto on a host whose `xl info` hangs', () => {
  let rig: AgentRig;
  beforeAll(async () => {
    // A failed detection is not cached: each job here detects again.
    rig = await startRig(env, { hosts: { xen1: { toolstack: 'auto' } } });
    await rig.startAgent({ pool: env.pool({}, { commandTimeoutMs: 1000 }) });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it('a /start that never sent anything is a transport failure that says so, not an unknown outcome', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.hangNext('xen1', /^xl info$/);
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: meta({ command: 'start' }) });
    expect(said(await rig.outcome(job))).toBe(
      'transport: could not detect the toolstack on xen1: xl on xen1 did not finish within 1 s; nothing else was run',
    );
    // The host answered nothing for the whole timeout: it is not asked again.
    expect(sent('xen1', since, /./)).toEqual(['xl info']);
  }, 30_000);

  it('a /list is never an unknown outcome either', async () => {
    env.sim.faults.hangNext('xen1', /^xl info$/);
    const job = await rig.enqueue({ op: 'domain.list', host: 'xen1', meta: meta({ command: 'list' }) });
    expect(said(await rig.outcome(job))).toBe(
      'transport: could not detect the toolstack on xen1: xl on xen1 did not finish within 1 s; nothing else was run',
    );
  }, 30_000);
});

describe('toolstack: auto on a host whose connection drops during `xl info`', () => {
  let rig: AgentRig;
  beforeAll(async () => {
    rig = await startRig(env, { hosts: { xen1: { toolstack: 'auto' } } });
    await rig.startAgent();
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it('detects again on a fresh connection, as any read, and the /list answers', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.dropNext('xen1', { match: /^xl info$/ });
    const job = await rig.enqueue({ op: 'domain.list', host: 'xen1', meta: meta({ command: 'list' }) });
    expect(said(await rig.outcome(job))).toBe('ok');
    expect(sent('xen1', since, /^xl info$/)).toEqual(['xl info', 'xl info']);
  }, 30_000);
});

describe('a mutation whose command hangs past the SSH command timeout', () => {
  let rig: AgentRig;
  beforeAll(async () => {
    rig = await startRig(env);
    await rig.startAgent({ pool: env.pool({}, { commandTimeoutMs: 1000 }) });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it('says the command did not finish in time, not that the connection was lost', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.hangNext('xen1', /'?create'?/);
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: meta({ command: 'start' }) });
    const outcome = await rig.outcome(job);
    expect(sent('xen1', since, /create/)).toHaveLength(1);
    // The connection was fine the whole time (the read-back ran on it); xl create simply never answered.
    expect(env.sim.log.query({ host: 'xen1', since, match: /create/ })[0]?.end).toMatchObject({ how: 'client-gone' });
    expect(said(outcome)).toBe(
      'outcomeUnknown: xl create did not finish within 1 s on xen1; mail is not up there (now: not running (defined)), and nothing was re-run',
    );
  }, 30_000);
});

describe('a /list on a host whose xl list hangs, with the default ratio of timeouts', () => {
  // Defaults: ssh.commandTimeoutMs 30 s, bot.readTimeoutMs 60 s. Scaled down 30×: 1 s and 2 s.
  const commandTimeoutMs = 1000;
  const botReadTimeoutMs = 2 * commandTimeoutMs;
  let rig: AgentRig;
  beforeAll(async () => {
    rig = await startRig(env);
    await rig.startAgent({ pool: env.pool({}, { commandTimeoutMs }) });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it("the agent's diagnosis reaches the bot before the bot gives up with “no answer from xen1's agent”", async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.hangNext('xen1', /^xl list -v$/);
    env.sim.faults.hangNext('xen1', /^xl list -v$/);
    const started = performance.now();
    // Two attempts, as the bot queues every read.
    const job = await rig.enqueue({ op: 'domain.list', host: 'xen1', meta: meta({ command: 'list' }) }, { attempts: 2 });
    const outcome = await rig.outcome(job);
    const ms = Math.round(performance.now() - started);
    expect(said(outcome)).toBe('transport: could not read the domain list on xen1: xl on xen1 did not finish within 1 s');
    // Neither the driver nor BullMQ waits a second time for a host that answered nothing in the first.
    expect(sent('xen1', since, /^xl list -v$/)).toEqual(['xl list -v']);
    expect(ms).toBeLessThan(botReadTimeoutMs);
  }, 30_000);
});
