import { once } from 'node:events';
import type { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.ts';
import type { JournalEntry } from '../../src/queue/coordination.ts';
import { jobIdFor } from '../../src/queue/names.ts';
import { domainUuid } from '../../src/sim/index.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { type AgentRig, meta, startRig } from './agent-support.ts';

/**
 * An agent that dies after sending a mutating command (rig.die: its workers force-closed, its SSH connections cut,
 * so its BullMQ lock lapses with the job still active) or is closed mid-job: the job reaches another agent (BullMQ's
 * stalled check, or close()'s hand-back), and the journal makes that agent read the state back instead of sending
 * the command again. Simulator + real Redis + BullMQ, fast timings. (agent-process.test.ts kills a real process.)
 */
let env: SimEnv;
let rig: AgentRig;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: twoHostFleet(),
  });
  rig = await startRig(env);
});
afterAll(async () => {
  await rig?.stop();
  await env?.stop();
});
afterEach(async () => {
  await rig.closeAgents();
  env.sim.faults.clear();
  ensure('xen1', 'mail', false);
  ensure('xen1', 'web', true);
  ensure('xen2', 'web', false);
});

const sent = (host: string, since: number, re: RegExp = /./) => env.sim.log.query({ host, since, match: re }).map((e) => e.command);

/** Puts the simulated fleet in a known state between tests. */
function ensure(host: string, name: string, running: boolean): void {
  const h = env.sim.fleet.host(host);
  const d = h.domains.find((x) => x.name === name);
  if (running && !d) env.sim.fleet.addDomain(h, { name, memoryMiB: 1024, vcpus: 2, flags: '-b----' });
  if (!running && d) env.sim.fleet.removeDomain(h, d);
}

/** Waits until this agent reports it is reading the job's state back (its worker's progress event, not a poll). */
async function verifying(agent: Agent, job: Job): Promise<void> {
  const worker = agent.workers.find((w) => w.name === `host-${job.data.host}`);
  if (!worker) throw new Error('no worker for the host');
  for (;;) {
    const [j, progress] = (await once(worker, 'progress')) as [Job, { stage?: string }];
    if (j.id === job.id && progress.stage === 'verify') return;
  }
}

async function journalOf(job: Job): Promise<JournalEntry | null> {
  return rig.journal.get(job.id ?? '');
}

describe('a job whose agent died after sending the command is resumed by another agent', () => {
  it('start: reports "started" with resumed: true, and `xl create` was received exactly once', async () => {
    const a = await rig.startAgent();
    const since = env.sim.log.lastSeq;
    // The create is still running on the Dom0 when the agent dies; it completes there on its own.
    env.sim.faults.delayNext('xen1', { match: /xl create/, ms: 500 });
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: meta() });
    await env.sim.log.waitFor({ host: 'xen1', since, match: /xl create/, timeoutMs: 5000 });
    await rig.die(a);
    expect(await rig.queue('xen1').getJobState(job.id ?? '')).toBe('active');
    await rig.startAgent();
    expect(await rig.outcome(job)).toEqual({
      ok: true,
      result: {
        host: 'xen1',
        outcome: 'started',
        resumed: true,
        domain: expect.objectContaining({ name: 'mail', uuid: domainUuid('mail'), status: 'blocked' }),
      },
    });
    expect(sent('xen1', since, /create|shutdown|destroy/)).toEqual(['xl create /etc/xen/vm/mail.cfg']);
    expect(await journalOf(job)).toMatchObject({ step: 'done', resumes: 1, before: { status: 'defined' }, result: { resumed: true } });
    expect((await rig.queue('xen1').getJob(job.id ?? ''))?.stalledCounter).toBe(1);
  });

  it('migrate: after the migration was interrupted, reports the true state (still on the source, nothing moved)', async () => {
    const a = await rig.startAgent();
    const since = env.sim.log.lastSeq;
    // xl migrate streams to its client: on a real Dom0 it dies with the agent's session, and so it does here.
    env.sim.faults.delayNext('xen1', { match: /xl migrate/, ms: 1500 });
    const job = await rig.enqueue({
      op: 'domain.migrate',
      host: 'xen1',
      domain: 'web',
      target: 'xen2',
      meta: meta({ command: 'migrate' }),
    });
    await env.sim.log.waitFor({ host: 'xen1', since, match: /xl migrate/, timeoutMs: 5000 });
    await rig.die(a);
    await rig.startAgent();
    expect(await rig.outcome(job)).toEqual({
      ok: false,
      failure: {
        code: 'remote',
        message:
          'the migration of web to xen2 was interrupted when the agent restarted: web is still running on xen1 and nothing moved (xen1: blocked, xen2: absent); nothing was re-run',
      },
    });
    expect(sent('xen1', since, /migrate/)).toEqual(['xl migrate web xen2']);
    expect(env.sim.state().hosts['xen1']?.domains.map((d) => d.name)).toContain('web');
    expect(await journalOf(job)).toMatchObject({
      step: 'issuing',
      resumes: 1,
      target: 'xen2',
      before: { status: 'blocked', uuid: domainUuid('web') },
    });
  });

  it('stop: close() hands a job still running after its grace back to the queue; the next agent verifies it (shutdown sent once)', async () => {
    const a = await rig.startAgent();
    const since = env.sim.log.lastSeq;
    // Well past the close grace (200 ms here), so the agent gives the job up rather than see it finish.
    env.sim.faults.delayNext('xen1', { match: /shutdown -w web/, ms: 1500 });
    const job = await rig.enqueue({ op: 'domain.stop', host: 'xen1', domain: 'web', force: false, meta: meta({ command: 'stop' }) });
    await env.sim.log.waitFor({ host: 'xen1', since, match: /shutdown -w web/, timeoutMs: 5000 });
    // BullMQ's own close() would wait for the job with no limit; ours gives it the grace (200 ms here) and hands it back.
    await a.close();
    expect(await rig.queue('xen1').getJobState(job.id ?? '')).toBe('waiting');
    expect(await journalOf(job)).toMatchObject({ step: 'issuing', resumes: 0 });
    await rig.startAgent();
    expect(await rig.outcome(job)).toEqual({
      ok: true,
      result: { host: 'xen1', outcome: 'shut-down', resumed: true, domain: expect.objectContaining({ name: 'web', status: 'defined' }) },
    });
    expect(sent('xen1', since, /shutdown|destroy/)).toEqual(['timeout 5 xl shutdown -w web']);
    expect((await rig.queue('xen1').getJob(job.id ?? ''))?.stalledCounter).toBe(0);
  });

  it('a job interrupted before it sent anything goes back to the queue and runs once, fresh, on the next agent', async () => {
    const a = await rig.startAgent();
    const since = env.sim.log.lastSeq;
    // The state check is under way when the agent is told to stop, and outlasts the grace.
    env.sim.faults.delayNext('xen1', { match: /^xl list -v$/, ms: 1000 });
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: meta() });
    await env.sim.log.waitFor({ host: 'xen1', since, match: /^xl list -v$/, timeoutMs: 5000 });
    await a.close(100);
    expect(await rig.queue('xen1').getJobState(job.id ?? '')).toBe('waiting');
    expect(await journalOf(job)).toBeNull();
    await rig.startAgent();
    expect(await rig.outcome(job)).toEqual({
      ok: true,
      result: { host: 'xen1', outcome: 'started', domain: expect.objectContaining({ name: 'mail', status: 'blocked' }) },
    });
    expect(sent('xen1', since, /create|shutdown|destroy/)).toEqual(['xl create /etc/xen/vm/mail.cfg']);
    expect((await rig.queue('xen1').getJob(job.id ?? ''))?.stalledCounter).toBe(0);
  });

  it.each([
    [3, 'is still resumed'],
    [1, 'fails as stalled (BullMQ’s default maxStalledCount)'],
  ])('a job whose agent dies twice (maxStalledCount %i) %s; the command is sent once', async (maxStalledCount) => {
    const timings = { maxStalledCount };
    const a = await rig.startAgent({ timings });
    const since = env.sim.log.lastSeq;
    env.sim.faults.delayNext('xen1', { match: /xl create/, ms: 2500 });
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: meta() });
    await env.sim.log.waitFor({ host: 'xen1', since, match: /xl create/, timeoutMs: 5000 });
    await rig.die(a);
    const b = await rig.startAgent({ timings });
    // The second agent takes the job and is reading the state back when it dies too.
    await verifying(b, job);
    await rig.die(b);
    await rig.startAgent({ timings });
    const out = await rig.outcome(job);
    if (maxStalledCount === 3) {
      expect(out).toEqual({
        ok: true,
        result: { host: 'xen1', outcome: 'started', resumed: true, domain: expect.objectContaining({ name: 'mail' }) },
      });
      expect(await journalOf(job)).toMatchObject({ step: 'done', resumes: 2 });
      expect((await rig.queue('xen1').getJob(job.id ?? ''))?.stalledCounter).toBe(2);
    } else {
      expect(out).toEqual({ ok: false, failure: { code: 'internal', message: 'job stalled more than allowable limit' } });
    }
    expect(sent('xen1', since, /create/)).toEqual(['xl create /etc/xen/vm/mail.cfg']);
  });
});

describe('the journal', () => {
  it('returns the stored result of a job already done, without touching any host', async () => {
    await rig.startAgent();
    const m = meta({ command: 'stop' });
    const jobId = jobIdFor(m.requestId, 'xen1');
    const stored = { host: 'xen1', outcome: 'shut-down', domain: null };
    await rig.journal.put({
      jobId,
      requestId: m.requestId,
      op: 'domain.stop',
      host: 'xen1',
      domain: 'web',
      before: { status: 'blocked', id: 2, uuid: domainUuid('web') },
      step: 'done',
      issuedAt: Date.now() - 5000,
      resumes: 0,
      result: stored,
    });
    const since = env.sim.log.lastSeq;
    const job = await rig.enqueue({ op: 'domain.stop', host: 'xen1', domain: 'web', force: false, meta: m });
    expect(await rig.outcome(job)).toEqual({ ok: true, result: stored });
    expect(env.sim.log.query({ since })).toEqual([]);
  });

  it('resumes from an `issuing` entry even when the deadline has passed (the deadline binds the first pickup only)', async () => {
    await rig.startAgent();
    const m = meta({ notAfter: Date.parse('2020-01-01T00:00:00Z') });
    const jobId = jobIdFor(m.requestId, 'xen1');
    await rig.journal.put({
      jobId,
      requestId: m.requestId,
      op: 'domain.start',
      host: 'xen1',
      domain: 'mail',
      before: { status: 'defined', id: null, uuid: null },
      step: 'issuing',
      issuedAt: Date.now() - 1000,
      resumes: 0,
    });
    ensure('xen1', 'mail', true);
    const since = env.sim.log.lastSeq;
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: m });
    expect(await rig.outcome(job)).toMatchObject({ ok: true, result: { outcome: 'started', resumed: true } });
    expect(sent('xen1', since, /create/)).toEqual([]);
    expect(sent('xen2', since)).toEqual([]);
    expect(await journalOf(job)).toMatchObject({ step: 'done', resumes: 1 });
  });
});
