import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostQueueName } from '../../src/queue/names.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { startTerminalStack, type TerminalStack, type TestStack } from '../helpers/stack.ts';

let t: TerminalStack;
let stack: TestStack;

beforeAll(async () => {
  t = await startTerminalStack();
  stack = t.stack;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('the demo stack fed the acceptance script on a non-TTY stdin', () => {
  it('lists, starts, refuses, tops and rejects, then finishes', async () => {
    t.input.end(['/list', '/start mail', '/list xen1', '@carol /stop web', '/top xen1', '/start ; reboot', ''].join('\n'));
    await t.terminal.done;
    const sections = t.output().split(/^> /m).slice(1);
    expect(sections.map((s) => s.split('\n')[0])).toEqual([
      '/list',
      '/start mail',
      '/list xen1',
      '@carol /stop web',
      '/top xen1',
      '/start ; reboot',
    ]);
    const [list, start, list1, carol, top, bad] = sections as [string, string, string, string, string, string];
    // both hosts, mail defined but not running
    expect(list).toMatch(/xen1\s+mail\s+-\s+defined \(not running\)/);
    expect(list).toMatch(/xen2\s+files\s+\d+\s+blocked/);
    expect(start).toContain('✔ mail started on xen1');
    expect(list1).toMatch(/xen1\s+mail\s+\d+\s+blocked/);
    expect(carol).toContain('✖ Not allowed');
    expect(carol).toContain('needs permission domain.stop');
    expect(top).toMatch(/✔ top on xen1/);
    expect(top).toMatch(/cpu%/);
    expect(bad).toContain('";" is not a valid domain name');
    expect(bad).toContain('/start <domain>');
  });

  it('touched the hosts only for allowed, valid requests', () => {
    const xen1 = stack.sim.hosts['xen1']?.commandLog ?? [];
    expect(xen1.filter((c) => c.includes('create'))).toEqual(['xl create /etc/xen/vm/mail.cfg']);
    expect(xen1.some((c) => c.includes('shutdown') || c.includes('destroy') || c.includes(';'))).toBe(false);
    expect(stack.sim.fleet.findDomain(stack.sim.fleet.host('xen1'), 'mail')).toBeDefined();
  });

  it('queued no job for the refused and the malformed requests', async () => {
    const queue = new Queue(hostQueueName('xen1'), { connection: { url: REDIS_URL }, prefix: stack.prefix });
    const jobs = await queue.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed']);
    await queue.close();
    const ops = jobs.filter((j) => !j.id?.startsWith('r-fleet')).map((j) => j.name);
    expect(ops).not.toContain('domain.stop');
    expect(ops.filter((o) => o === 'domain.start')).toHaveLength(1);
  });

  it('audited requests, decisions, job starts and outcomes in the stream and the file', async () => {
    const lines = readFileSync(stack.auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const redis = new Redis(REDIS_URL);
    // The file has every entry at once; the stream within audit.streamLingerMs.
    await expect.poll(() => redis.xlen(`${stack.prefix}:audit`), { timeout: 5_000 }).toBe(lines.length);
    const entries = await redis.xrange(`${stack.prefix}:audit`, '-', '+');
    redis.disconnect();
    const events = entries.map(([, f]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i + 1 < f.length; i += 2) o[f[i] as string] = f[i + 1] as string;
      return o;
    });
    expect(events.find((e) => e['event'] === 'decision' && e['person'] === 'carol')).toMatchObject({
      decision: 'rejected',
      command: 'stop',
      platform: 'terminal',
      userId: 'carol',
    });
    expect(events.some((e) => e['event'] === 'job.start' && e['command'] === 'start' && e['host'] === 'xen1')).toBe(true);
    expect(events.find((e) => e['event'] === 'job.outcome' && e['command'] === 'start')?.['detail']).toBe('xen1: ok');
    expect(lines.find((l) => l['event'] === 'job.outcome' && l['command'] === 'start')).toMatchObject({
      person: 'alice',
      durationMs: expect.any(Number),
    });
  });
});
