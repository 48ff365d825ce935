import { describe, expect, it } from 'vitest';
import { backoffDelay, Semaphore } from './semaphore.ts';

describe('Semaphore', () => {
  it('admits at most limit holders and serves waiters in order', async () => {
    const s = new Semaphore(2);
    const a = await s.acquire();
    await s.acquire();
    const order: number[] = [];
    const c = s.acquire().then((r) => {
      order.push(3);
      return r;
    });
    const d = s.acquire().then((r) => {
      order.push(4);
      return r;
    });
    expect(s.activeCount).toBe(2);
    expect(s.queued).toBe(2);
    a();
    a(); // releasing twice frees one slot only
    await c;
    expect(order).toEqual([3]);
    expect(s.queued).toBe(1);
    (await c)();
    await d;
    expect(order).toEqual([3, 4]);
  });

  it('lets a waiter give up through its AbortSignal', async () => {
    const s = new Semaphore(1);
    await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire(controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    expect(s.queued).toBe(0);
  });
});

describe('backoffDelay', () => {
  it.each([
    [0, 0],
    [1, 500],
    [2, 1000],
    [3, 2000],
    [10, 30_000],
  ])('attempt %i waits %i ms (base 500, max 30 s)', (attempt, ms) => {
    expect(backoffDelay(attempt, 500, 30_000)).toBe(ms);
  });
});
