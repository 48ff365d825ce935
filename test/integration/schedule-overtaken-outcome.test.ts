import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * A tick overtaken by a later one posts nothing. The metrics and the audit must say so: counted `ok` and audited as
 * any other outcome, it reads as a status shown in the channel, and a dashboard of scheduled posts counts posts that
 * nobody saw.
 */

let stack: TestStack;
let adapter: CaptureAdapter;

beforeAll(async () => {
  stack = await startTestStack({
    makeAdapters: () => {
      adapter = new CaptureAdapter('terminal');
      return [adapter];
    },
    adjustConfig: (c) => ({ ...c, approvals: { ...c.approvals, enabled: false } }),
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function ask(line: string): Promise<Reply> {
  const req = chatRequest(`r-${Math.random().toString(36).slice(2)}`, line, 'alice');
  await stack.bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

async function statusCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const line of (await stack.bot.metrics.registry.metrics()).split('\n')) {
    const m = /^xenops_commands_total\{command="status",outcome="([^"]+)"\} (\d+)$/.exec(line);
    if (m) counts[m[1] as string] = Number(m[2]);
  }
  return counts;
}

function outcomesOf(requestId: string): Record<string, unknown>[] {
  return readFileSync(stack.auditFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e['event'] === 'job.outcome' && e['requestId'] === requestId);
}

describe('a scheduled tick overtaken by a later one', () => {
  it('is counted `overtaken`, not `ok`, and audited as having posted nothing', async () => {
    const added = await ask('schedule add status cron "0 8 29 2 *" mode:edit');
    const id = /^Schedule (S[A-Z0-9]{5}) added$/.exec(added.title)?.[1] ?? '';
    expect(id, added.title).not.toBe('');
    const tick = (at: number) =>
      stack.bot.run({
        command: 'status',
        as: 'alice',
        channel: { platform: 'terminal', id: 'ops' },
        requestId: `sched-${id}-${at}`,
        schedule: { id, mode: 'edit' },
      });
    const redis = new Redis(REDIS_URL);
    const ended = (requestId: string) =>
      expect.poll(() => redis.exists(`${stack.prefix}:pending:${requestId}`), { timeout: 20_000 }).toBe(0);
    try {
      // The later tick posts first…
      await tick(3_000);
      await ended(`sched-${id}-3000`);
      expect(adapter.finals(`sched-${id}-3000`)).toHaveLength(1);
      const before = await statusCounts();
      expect(before['ok']).toBeGreaterThanOrEqual(1);

      // …then the earlier one ends: nothing is posted.
      await tick(2_000);
      await ended(`sched-${id}-2000`);
      expect(adapter.finals(`sched-${id}-2000`)).toHaveLength(0);

      const after = await statusCounts();
      expect(after['ok']).toBe(before['ok']);
      expect(after['error'] ?? 0).toBe(before['error'] ?? 0);
      expect(after['overtaken']).toBe(1);

      const [entry, ...more] = outcomesOf(`sched-${id}-2000`);
      expect(more).toHaveLength(0);
      expect(String(entry?.['detail'])).toMatch(/^posted nothing: a later tick of schedule S[A-Z0-9]{5} had posted already/);
      // What each host answered is still on record.
      expect(String(entry?.['detail'])).toMatch(/xen1: ok/);
      // The later tick's entry is a plain outcome.
      expect(String(outcomesOf(`sched-${id}-3000`)[0]?.['detail'])).toMatch(/^xen1: ok/);
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});
