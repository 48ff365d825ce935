import { describe, expect, it, vi } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';

const { store, makeDesk, askStop } = approvalDeskScene();

describe('an approval whose expiry timer fires a moment early on the shared clock', () => {
  it('still expires: its cards say so and lose their buttons, instead of staying pending for good', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    // The desk's clock is the deployment's shared one: a new reading of Redis's TIME may put it a few ms behind the
    // last (or libuv fires a timer against a stale loop time), so the timer can come just before expiresAt.
    let offset = 0;
    const { desk, titles } = await makeDesk({ now: () => Date.now() + offset }, false);
    try {
      const id = await askStop(desk, 'req-early-1');
      // A new reading of the shared clock: 5 ms behind the last one, after the timer was armed.
      offset = -5;
      await vi.advanceTimersByTimeAsync(15 * 60_000 + 1_000);
      await vi.waitFor(async () => expect((await store.get(id))?.status).toBe('expired'));
      expect(titles()).toContain(`Approval ${id} expired`);
    } finally {
      desk.stop();
      vi.useRealTimers();
    }
  });
});
