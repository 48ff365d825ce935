import { hostname } from 'node:os';
import type { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.ts';
import { hostQueueName } from '../../src/queue/names.ts';
import { domainUuid } from '../../src/sim/index.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { type AgentRig, meta, startRig } from './agent-support.ts';

/**
 * The agent's guards around a job, with the simulator, real Redis and BullMQ: the deadline, the domain lock, the
 * fleet-wide running-once check, read retries and the shutdown drop. Each test asserts what the simulator received.
 */
let env: SimEnv;
let rig: AgentRig;
let agent: Agent;

beforeAll(async () => {
  env = await startSimEnv({
    // The guest takes 400 ms (20 s × 0.02) to power off: long enough to cut the connection while `shutdown -w` waits.
    shutdownDelayMs: 20_000,
    // files is defined on xen1 too and runs on xen2: starting it on xen1 would run it twice.
    fleet: twoHostFleet([{ name: 'files', memoryMiB: 4096, vcpus: 2, running: false }]),
  });
  rig = await startRig(env);
  agent = await rig.startAgent();
});
afterAll(async () => {
  await rig?.stop();
  await env?.stop();
});
afterEach(() => {
  env.sim.faults.clear();
});

const sent = (host: string, since: number, re: RegExp = /./) => env.sim.log.query({ host, since, match: re }).map((e) => e.command);
const mutations = /create|shutdown|destroy|migrate/;

describe('the deadline (meta.notAfter)', () => {
  it('withdraws a job first picked up after its deadline, touching nothing and releasing its own lock', async () => {
    const since = env.sim.log.lastSeq;
    const m = meta({ command: 'start', notAfter: Date.parse('2020-01-01T12:00:03Z') });
    await rig.locks.acquire(
      { requestId: m.requestId, person: 'alice', command: 'start', host: 'xen1', domain: 'mail', reason: 'start', since: Date.now() },
      30_000,
    );
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: m });
    expect(await rig.outcome(job)).toEqual({
      ok: false,
      failure: {
        code: 'withdrawn',
        message: '/start mail on xen1 was not picked up by 12:00:03 UTC: withdrawn — nothing was done, and it will not run later',
      },
    });
    expect(sent('xen1', since)).toEqual([]);
    expect(sent('xen2', since)).toEqual([]);
    expect(await rig.locks.holder('mail')).toBeNull();
    expect(await rig.journal.get(job.id ?? '')).toBeNull();
  });
});

describe('the domain lock', () => {
  it('refuses when another request holds the domain, naming the holder, and touches nothing', async () => {
    const since = env.sim.log.lastSeq;
    const bob = {
      requestId: 'r-bob-1',
      person: 'bob',
      command: 'stop',
      host: 'xen1',
      domain: 'web',
      reason: 'stop',
      since: Date.parse('2026-01-01T12:00:03Z'),
    };
    await rig.locks.acquire(bob, 30_000);
    try {
      const job = await rig.enqueue({ op: 'domain.stop', host: 'xen1', domain: 'web', force: false, meta: meta({ command: 'stop' }) });
      expect(await rig.outcome(job)).toEqual({
        ok: false,
        failure: { code: 'locked', message: "web is busy: bob's stop (request r-bob-1, since 12:00:03 UTC); try again when it finishes" },
      });
      expect(sent('xen1', since)).toEqual([]);
      expect(await rig.locks.holder('web')).toEqual(bob);
    } finally {
      await rig.locks.release('web', 'r-bob-1');
    }
  });

  it("adopts the bot's lock for its own request (keeping its since), holds it while running and releases it at the end", async () => {
    const m = meta({ command: 'start' });
    const since = Date.parse('2026-01-01T09:30:00Z');
    await rig.locks.acquire(
      { requestId: m.requestId, person: 'alice', command: 'start', host: 'xen1', domain: 'mail', reason: 'start on xen1', since },
      30_000,
    );
    const seq = env.sim.log.lastSeq;
    env.sim.faults.delayNext('xen1', { match: /xl create/, ms: 300 });
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: m });
    await env.sim.log.waitFor({ host: 'xen1', since: seq, match: /xl create/, timeoutMs: 5000 });
    expect(await rig.locks.holder('mail')).toEqual({
      requestId: m.requestId,
      person: 'alice',
      command: 'start',
      host: 'xen1',
      domain: 'mail',
      reason: 'start on xen1',
      since,
    });
    const out = await rig.outcome(job);
    expect(out).toMatchObject({
      ok: true,
      result: { host: 'xen1', outcome: 'started', domain: { name: 'mail', uuid: domainUuid('mail') } },
    });
    expect(await rig.locks.holder('mail')).toBeNull();
    expect(sent('xen1', seq, mutations)).toEqual(['xl create /etc/xen/vm/mail.cfg']);
    // The journal holds the outcome, so a redelivery reports it without touching the host.
    expect(await rig.journal.get(job.id ?? '')).toMatchObject({
      step: 'done',
      resumes: 0,
      before: { status: 'defined', id: null, uuid: null },
      result: { outcome: 'started' },
    });
  });
});

describe('fleet-wide running-once', () => {
  it('refuses to start a domain running on another host, naming it, and creates nothing anywhere', async () => {
    const since = env.sim.log.lastSeq;
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'files', meta: meta() });
    expect(await rig.outcome(job)).toEqual({
      ok: false,
      failure: { code: 'domain.elsewhere', message: 'files is running on xen2 — starting it on xen1 would run it twice' },
    });
    expect(sent('xen1', since, mutations)).toEqual([]);
    expect(sent('xen2', since)).toEqual(['xl list -v', 'ls -1 /etc/xen/vm', 'ls -1 /etc/xen/auto', 'ls -l /etc/xen/auto/']);
    expect(await rig.journal.get(job.id ?? '')).toBeNull();
  });

  it('refuses when another host cannot be read (twice), naming it: a partition is when a double start corrupts disks', async () => {
    await stopIfRunning('mail');
    const since = env.sim.log.lastSeq;
    env.sim.faults.dropNext('xen2', { match: /^xl list -v$/ });
    env.sim.faults.dropNext('xen2', { match: /^xl list -v$/ });
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: meta() });
    expect(await rig.outcome(job)).toEqual({
      ok: false,
      failure: { code: 'domain.elsewhere', message: 'cannot confirm mail is not running on xen2 (unreachable): not starting it' },
    });
    expect(sent('xen1', since, mutations)).toEqual([]);
    expect(sent('xen2', since)).toEqual(['xl list -v', 'xl list -v']);
  });
});

describe('reads are retried once; a drop during `shutdown -w` is followed by polling', () => {
  it('retries a read-only job step once on a fresh connection after a drop', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.dropNext('xen1', { match: /^xl list -v$/ });
    const job = await rig.enqueue({ op: 'domain.list', host: 'xen1', meta: meta({ command: 'list' }) });
    const out = await rig.outcome(job);
    expect(out.ok && 'domains' in out.result ? out.result.domains.map((d) => d.name) : out).toEqual(['Domain-0', 'web', 'files', 'mail']);
    expect(sent('xen1', since, /^xl list -v$/)).toEqual(['xl list -v', 'xl list -v']);
  });

  it('reports a state check that fails twice as a transport failure, never an unknown outcome, and sends nothing', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.dropNext('xen1', { match: /^xl list -v$/ });
    env.sim.faults.dropNext('xen1', { match: /^xl list -v$/ });
    const job = await rig.enqueue({ op: 'domain.stop', host: 'xen1', domain: 'web', force: false, meta: meta({ command: 'stop' }) });
    expect(await rig.outcome(job)).toEqual({
      ok: false,
      failure: {
        code: 'transport',
        message: 'could not read the state of web on xen1: the connection to xen1 was lost while xl ran (tried twice)',
      },
    });
    expect(sent('xen1', since)).toEqual(['xl list -v', 'xl list -v']);
  });

  it('after the connection drops while `shutdown -w` waits, polls the state and reports the shutdown (sent once, never destroyed)', async () => {
    const since = env.sim.log.lastSeq;
    const job = await rig.enqueue({ op: 'domain.stop', host: 'xen1', domain: 'web', force: false, meta: meta({ command: 'stop' }) });
    await env.sim.log.waitFor({ host: 'xen1', since, match: /shutdown -w web/, timeoutMs: 5000 });
    expect(env.sim.faults.dropConnections('xen1')).toBeGreaterThan(0);
    expect(await rig.outcome(job)).toEqual({
      ok: true,
      result: { host: 'xen1', outcome: 'shut-down', domain: expect.objectContaining({ name: 'web', status: 'defined' }) },
    });
    expect(sent('xen1', since, mutations)).toEqual(['timeout 5 xl shutdown -w web']);
  });
});

describe('heartbeats', () => {
  it('beats for every served host, and a stopped agent leaves a final beat with stoppedAt', async () => {
    // A rig of its own: the suite's agent beats for every host on the shared one.
    const own = await startRig(env);
    try {
      const agent = await own.startAgent({ hosts: ['xen2'] });
      const beats = await own.heartbeats.all();
      expect(Object.keys(beats)).toEqual(['xen2']);
      expect(beats['xen2']).toEqual({ agentId: agent.agentId, where: `${process.pid}@${hostname()}`, seenAt: expect.any(Number) });
      await agent.close();
      const last = (await own.heartbeats.all())['xen2'];
      expect(last).toEqual({
        agentId: agent.agentId,
        where: `${process.pid}@${hostname()}`,
        seenAt: expect.any(Number),
        stoppedAt: last?.seenAt,
      });
    } finally {
      await own.stop();
    }
  });
});

describe('what the agent keeps of a finished job', () => {
  it('drops the data and result of the Job object BullMQ’s Worker loop still holds; Redis keeps the result', async () => {
    const worker = agent.workers.find((w) => w.name === hostQueueName('xen1'));
    if (!worker) throw new Error('no worker for xen1');
    // Registered after the agent's own listener: sees the job as the Worker loop goes on holding it.
    const held = new Promise<Job>((resolve) => worker.once('completed', (job: Job) => resolve(job)));
    const job = await rig.enqueue({ op: 'domain.list', host: 'xen1', meta: meta({ command: 'list' }) });
    const seen = await held;
    expect(seen.id).toBe(job.id);
    expect([seen.data, seen.returnvalue]).toEqual([undefined, undefined]);
    const outcome = await rig.outcome(job);
    expect(outcome.ok && JSON.stringify(outcome.result)).toContain('"name":"web"');
  });
});

/** Makes sure the domain is not running on xen1 (an earlier test may have started it). */
async function stopIfRunning(domain: string): Promise<void> {
  const host = env.sim.fleet.host('xen1');
  const d = host.domains.find((x) => x.name === domain);
  if (d) env.sim.fleet.removeDomain(host, d);
}
