import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentTimings, DEFAULT_TIMINGS } from '../../src/agent/agent.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { type AgentRig, FAST, meta, startRig } from './agent-support.ts';

/**
 * An agent process stopped mid-mutation: SIGKILLed (no close, no final heartbeat; its BullMQ lock lapses and the
 * stalled check hands the job on) or SIGTERMed (close() with its default grace, then the job is handed back). The
 * job is resumed by another agent, and the simulator received the mutating command exactly once.
 */
let env: SimEnv;
let rig: AgentRig;
const children: ChildProcess[] = [];

beforeAll(async () => {
  env = await startSimEnv({
    fleet: twoHostFleet(),
  });
  // A shutdown may take 30 s here: the SIGTERM test's guest goes down a few seconds after it was asked to.
  rig = await startRig(env, { hosts: { xen1: { shutdownTimeoutSeconds: 30 } } });
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rig.closeAgents();
  env.sim.faults.clear();
});
afterAll(async () => {
  await rig?.stop();
  await env?.stop();
});

interface ChildAgent {
  child: ChildProcess;
  agentId: string;
  /** The next stdout line matching re. */
  line(re: RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function spawnAgent(timings?: Partial<AgentTimings>): Promise<ChildAgent> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'agent-child.ts')], {
    env: { ...process.env, XENOPS_TEST_AGENT: JSON.stringify({ config: rig.config, redisUrl: REDIS_URL, prefix: rig.prefix, timings }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const seen: string[] = [];
  const waiters = new Set<() => void>();
  lines.on('line', (l) => {
    seen.push(l);
    for (const w of [...waiters]) w();
  });
  const line = (re: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const hit = seen.find((l) => re.test(l));
        if (hit !== undefined) {
          waiters.delete(check);
          resolve(hit);
        }
      };
      waiters.add(check);
      check();
      void exited.then(() => {
        if (waiters.has(check)) reject(new Error(`the agent process exited before printing ${re}: ${seen.join(' | ')}`));
      });
    });
  const ready = await line(/^ready /);
  return { child, agentId: ready.slice('ready '.length), line, exited };
}

/** BullMQ's lock and stalled-check timings as the agent ships them. */
const production = (): Partial<AgentTimings> => ({
  lockDurationMs: DEFAULT_TIMINGS.lockDurationMs,
  stalledIntervalMs: DEFAULT_TIMINGS.stalledIntervalMs,
  maxStalledCount: DEFAULT_TIMINGS.maxStalledCount,
});

const sent = (host: string, since: number, re: RegExp) => env.sim.log.query({ host, since, match: re }).map((e) => e.command);

describe('an agent process that dies mid-mutation', () => {
  it('SIGKILL: another agent resumes the job with the production BullMQ timings (start reported resumed, xl create received once)', async ({
    annotate,
  }) => {
    const a = await spawnAgent({ ...FAST, ...production() });
    const since = env.sim.log.lastSeq;
    // Still running on the Dom0 when the agent dies; it completes there on its own.
    env.sim.faults.delayNext('xen1', { match: /xl create/, ms: 1000 });
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: meta() });
    await env.sim.log.waitFor({ host: 'xen1', since, match: /xl create/, timeoutMs: 10_000 });
    a.child.kill('SIGKILL');
    expect(await a.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const killedAt = Date.now();
    await rig.startAgent({ timings: production() });
    const out = await rig.outcome(job, 20_000);
    await annotate(`resumed ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the SIGKILL`);
    expect(out).toEqual({
      ok: true,
      result: { host: 'xen1', outcome: 'started', resumed: true, domain: expect.objectContaining({ name: 'mail', status: 'blocked' }) },
    });
    expect(sent('xen1', since, /create|shutdown|destroy/)).toEqual(['xl create /etc/xen/vm/mail.cfg']);
    // A killed agent writes no final beat: it just goes silent.
    expect((await rig.heartbeats.all())['xen1']?.agentId).not.toBe(a.agentId);
  });

  it('SIGTERM: the agent stops within 5 s with a final heartbeat, handing its job back to the queue (shutdown sent once)', async () => {
    // The default close grace (3 s) and BullMQ timings: the hand-back does not wait for a lock to lapse.
    const a = await spawnAgent({ ...FAST, ...production(), closeGraceMs: DEFAULT_TIMINGS.closeGraceMs });
    const since = env.sim.log.lastSeq;
    // Longer than the grace: the agent cannot wait for it; the Dom0 finishes it on its own.
    env.sim.faults.delayNext('xen1', { match: /shutdown -w web/, ms: DEFAULT_TIMINGS.closeGraceMs + 1500 });
    const job = await rig.enqueue({ op: 'domain.stop', host: 'xen1', domain: 'web', force: false, meta: meta({ command: 'stop' }) });
    await env.sim.log.waitFor({ host: 'xen1', since, match: /shutdown -w web/, timeoutMs: 10_000 });
    const t0 = Date.now();
    a.child.kill('SIGTERM');
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
    // Its own beat on the host: the agent the test before started may still be beating there (the host's top beat is
    // then that live one, as it should be).
    const field = JSON.parse((await rig.redis.hget(`${rig.prefix}:agents`, 'xen1')) ?? '{}') as { agents?: Record<string, unknown> };
    expect(field.agents?.[a.agentId]).toMatchObject({ agentId: a.agentId, stoppedAt: expect.any(Number) });
    expect(await rig.queue('xen1').getJobState(job.id ?? '')).toBe('waiting');
    expect(await rig.journal.get(job.id ?? '')).toMatchObject({ step: 'issuing', resumes: 0 });
    await rig.startAgent({ timings: production() });
    expect(await rig.outcome(job, 20_000)).toEqual({
      ok: true,
      result: { host: 'xen1', outcome: 'shut-down', resumed: true, domain: expect.objectContaining({ name: 'web', status: 'defined' }) },
    });
    expect(sent('xen1', since, /shutdown|destroy/)).toEqual(['timeout 30 xl shutdown -w web']);
    expect((await rig.queue('xen1').getJob(job.id ?? ''))?.stalledCounter).toBe(0);
  });
});
