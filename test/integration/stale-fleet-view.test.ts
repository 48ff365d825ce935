import { describe, expect, it } from 'vitest';
import { staleViewChat } from '../helpers/stack.ts';

/**
 * The bot's view of the fleet gone stale behind its back: guests moved or stopped by an administrator on a host's
 * shell. Each describe has a demo stack of its own (each changes where web runs).
 */

/** A stale view (see staleViewChat), approvals off. */
const staleChat = () => staleViewChat((c) => ({ ...c, approvals: { ...c.approvals, enabled: false } }));

/**
 * `xl migrate` run by hand leaves the guest's config file on the host it left: that host then lists it as a stopped
 * copy, not as "no such domain". The bot, which last heard web run on xen1, sends its first command there; that answer
 * (web is not running on xen1) makes it ask the other hosts at once: the reply says where web runs now, and the next
 * command goes there — never acting on the stopped copy it left behind until the periodic refresh.
 */
describe('a guest migrated by hand, its config file left behind', () => {
  const chat = staleChat();

  it('GIVEN web migrated by hand from xen1 to xen2 WHEN a read finds only its stopped copy on xen1 THEN the next /show and /stop act on xen2', async () => {
    expect(await chat.byHand('xen1', 'xl migrate web xen2')).toBe(0);
    const xen1 = chat.stack.sim.fleet.host('xen1');
    expect(xen1.files.has('/etc/xen/vm/web.cfg')).toBe(true);

    // Sent where the bot last heard it run: xen1 has only its stopped copy now — and the reply says where it runs.
    const listsOnXen2 = chat.sent('xen2', /\blist\b/);
    const first = await chat.say('/show web');
    expect(first).toContain(
      'web is no longer running on xen1: a guest of that name runs on xen2 now (moved or started there outside xenops)',
    );

    const second = await chat.say('/show web');
    expect(second).toContain('web on xen2');
    expect(second).not.toContain('web on xen1');
    // xen2 was asked again (a lookup), not answered from the view that predates the move.
    expect(chat.sent('xen2', /\blist\b/)).toBeGreaterThan(listsOnXen2);

    const stop = await chat.say('/stop web');
    expect(stop).toContain('web shut down on xen2');
    expect(stop).not.toContain('not running on xen1');
    expect(chat.sent('xen1', /\b(shutdown|destroy)\b/)).toBe(0);
  });

  it('GIVEN gateway migrated by hand WHEN /stop gateway finds it not running on xen1 THEN the next /stop gateway stops it on xen2', async () => {
    expect(await chat.byHand('xen1', 'xl migrate gateway xen2')).toBe(0);
    const first = await chat.say('/stop gateway');
    expect(first).toContain(
      'gateway is no longer running on xen1: a guest of that name runs on xen2 now (moved or started there outside xenops)',
    );
    expect(first).toContain('nothing was done — /stop xen2:gateway');

    const second = await chat.say('/stop gateway');
    expect(second).toContain('gateway shut down on xen2');
    expect(second).not.toContain('not running on xen1');
  });
});

/**
 * A command's precheck refuses on what the bot last heard each host run ("web is already on xen2", "running on xen2 —
 * starting it on xen1 would run it twice"). A guest moved or stopped outside xenops since must not be refused on that
 * stale word: the hosts are asked once, and the refusal (or the job) follows what they say. The common path — a
 * request the precheck lets through — costs no extra round trip.
 */
describe('a precheck refusal made on a stale view', () => {
  const chat = staleChat();

  it('GIVEN web migrated to xen2 by xenops, then back to xen1 by hand WHEN /migrate web xen2 THEN it is moved from xen1, not called "already on xen2"', async () => {
    expect(await chat.say('/migrate web xen2')).toContain('web moved from xen1 to xen2');
    expect(await chat.byHand('xen2', 'xl migrate web xen1')).toBe(0);

    const out = await chat.say('/migrate web xen2');
    expect(out).not.toContain('already on xen2');
    expect(out).toContain('web moved from xen1 to xen2');
    expect(chat.stack.sim.fleet.findDomain(chat.stack.sim.fleet.host('xen2'), 'web')?.flags).toMatch(/^-b/);
  });

  it('GIVEN gateway migrated to xen2 by xenops, then destroyed there by hand WHEN /start xen1:gateway THEN it starts on xen1, not refused as running on xen2', async () => {
    expect(await chat.say('/migrate gateway xen2')).toContain('gateway moved from xen1 to xen2');
    expect(await chat.byHand('xen2', 'xl destroy gateway')).toBe(0);

    const out = await chat.say('/start xen1:gateway');
    expect(out).not.toContain('would run it twice');
    expect(out).toContain('gateway started on xen1');
  });

  it('GIVEN a precheck that still holds on fresh lists WHEN /migrate files xen2 THEN it is refused as already there', async () => {
    const out = await chat.say('/migrate files xen2');
    expect(out).toContain('files is already on xen2: nothing to move');
  });
});
