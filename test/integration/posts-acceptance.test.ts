import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleQueueName } from '../../src/app/schedules.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * The scheduled-posts issue's acceptance script, typed into the demo stack's terminal as a person would: a status
 * schedule every 5 s, two posts within 12 s, a start marked in a later post, list, remove, and /top from the live
 * samples.
 */
let t: TerminalStack;

beforeAll(async () => {
  t = await startTerminalStack((c) => ({ ...c, sampling: { ...c.sampling, intervalSeconds: 1 } }));
}, 60_000);

afterAll(async () => {
  await t?.stack.stop();
});

/** Resolves once the terminal's output (from `from` on) matches re; driven by the output, bounded by timeoutMs. */
function waitForOutput(re: RegExp, from: number, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(t.output().slice(from));
      if (!m) return false;
      stop();
      clearTimeout(timer);
      resolve(m);
      return true;
    };
    const stop = t.onOutput(() => void check());
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no ${re} in the output within ${timeoutMs} ms:\n${t.output().slice(from)}`));
    }, timeoutMs);
    check();
  });
}

function type(line: string): number {
  const mark = t.output().length;
  t.input.write(`${line}\n`);
  return mark;
}

const posts = (from: number) =>
  t
    .output()
    .slice(from)
    .split(/^(?=✔ Fleet status$)/m)
    .slice(1);

describe('the scheduled-posts acceptance script in the demo', () => {
  it('posts every 5 s, marks a start, lists and removes the schedule; /top answers from the live sample', async () => {
    const added = type('/schedule add status every 5s');
    const id = (await waitForOutput(/✔ Schedule (S[A-Z0-9]{5}) added/, added, 10_000))[1] as string;
    expect(t.output().slice(added)).toContain(`/schedule remove ${id}`);
    const t0 = Date.now();
    await waitForOutput(/✔ Fleet status[\s\S]*✔ Fleet status/, added, 12_000);
    expect(Date.now() - t0).toBeLessThan(12_000);

    const started = type('/start mail');
    await waitForOutput(/✔ mail started on xen1/, started, 15_000);
    const marked = await waitForOutput(/▲ mail started on xen1/, started, 15_000);
    expect(marked[0]).toBe('▲ mail started on xen1');

    const listed = type('/schedule list');
    await waitForOutput(new RegExp(`${id}\\s+status\\s+every 5s\\s+terminal:terminal\\s+\\d\\d:\\d\\d:\\d\\d UTC\\s+alice`), listed, 5_000);

    const removed = type(`/schedule remove ${id}`);
    await waitForOutput(new RegExp(`✔ Schedule ${id} removed`), removed, 5_000);
    // BullMQ holds nothing more for it: no next tick waiting, none running (a tick taken just before the removal
    // is let finish first).
    const q = new Queue(scheduleQueueName('terminal'), { connection: { url: REDIS_URL }, prefix: t.stack.prefix });
    expect(await q.getJobSchedulers()).toEqual([]);
    expect(await q.getDelayedCount()).toBe(0);
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const poll = async () => {
        if ((await q.getActiveCount()) === 0) return resolve();
        if (Date.now() > deadline) return reject(new Error('a tick stayed active'));
        setTimeout(() => void poll(), 100);
      };
      void poll();
    });
    await q.close();
    // And, watched for longer than one interval, no post comes.
    const quiet = t.output().length;
    await new Promise((r) => setTimeout(r, 6_000));
    expect(posts(quiet)).toEqual([]);

    const top = type('/top xen1');
    const answer = await waitForOutput(/xen1: (live sample, \d+ s old|one-shot xentop[^\n]*)/, top, 10_000);
    expect(answer[1]).toMatch(/^live sample, \d+ s old$/);
    expect(t.output().slice(top)).toMatch(/xen1\s+web\s+--b---/);
  }, 90_000);
});
