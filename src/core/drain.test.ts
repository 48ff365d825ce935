import { describe, expect, it } from 'vitest';
import { Drain } from './drain.ts';

describe('Drain', () => {
  it('runs again after a run that had nothing to do', async () => {
    const queue: number[] = [];
    const done: number[] = [];
    const drain = new Drain(
      async () => {
        done.push(...queue.splice(0));
      },
      () => queue.length > 0,
    );
    await drain.kick();
    expect(drain.busy).toBe(false);
    queue.push(1);
    await drain.kick();
    expect(done).toEqual([1]);
  });

  it('takes work queued after a run last looked, without another kick', async () => {
    const queue: number[] = [];
    const done: number[] = [];
    let runs = 0;
    const drain = new Drain(
      async () => {
        runs++;
        const batch = queue.splice(0);
        await Promise.resolve();
        done.push(...batch);
        // Arrives after this run took its batch and before the drain is marked finished; its kick finds it busy.
        if (runs === 1) {
          queue.push(2);
          void drain.kick();
        }
      },
      () => queue.length > 0,
    );
    queue.push(1);
    await drain.kick();
    expect(done).toEqual([1, 2]);
    expect(runs).toBe(2);
  });

  it('runs one at a time', async () => {
    let active = 0;
    let most = 0;
    let left = 3;
    const drain = new Drain(
      async () => {
        active++;
        most = Math.max(most, active);
        await new Promise((r) => setImmediate(r));
        left--;
        active--;
      },
      () => left > 0,
    );
    await Promise.all([drain.kick(), drain.kick(), drain.kick()]);
    expect(most).toBe(1);
    expect(left).toBe(0);
  });

  it('takes work queued right after its last look at the queue, before the run is marked finished', async () => {
    const queue: number[] = [];
    const done: number[] = [];
    let late = false;
    const drain = new Drain(
      async () => {
        done.push(...queue.splice(0));
      },
      () => {
        // The moment a run ends: the next microtask queues more work and kicks.
        if (!late && queue.length === 0) {
          late = true;
          queueMicrotask(() => {
            queue.push(2);
            void drain.kick();
          });
        }
        return queue.length > 0;
      },
    );
    queue.push(1);
    await drain.kick();
    await expect.poll(() => done).toEqual([1, 2]);
    expect(drain.busy).toBe(false);
  });

  it('is not left running after a run fails', async () => {
    let fail = true;
    const drain = new Drain(
      async () => {
        if (fail) throw new Error('boom');
      },
      () => false,
    );
    await expect(drain.kick()).rejects.toThrow('boom');
    expect(drain.busy).toBe(false);
    fail = false;
    await drain.kick();
  });
});
