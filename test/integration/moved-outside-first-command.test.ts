import { describe, expect, it } from 'vitest';
import { staleViewChat } from '../helpers/stack.ts';

/**
 * The first command naming a bare domain after it moved outside xenops goes where the bot last heard it run: that host
 * answers it does not run it there (a stopped copy left by `xl migrate`, or no such domain at all). The asker is then
 * told where it runs now, among the hosts they may use, and what to type — never "not running" alone about a guest
 * that runs, and the command is not re-aimed at the other host by itself (nothing is stopped there).
 */
// No sampler: its own `xl list`s would blur which hosts a command had asked.
const chat = staleViewChat((c) => ({
  ...c,
  approvals: { ...c.approvals, enabled: false },
  sampling: { ...c.sampling, enabled: false },
}));

/** Runs on `host` in the simulator (any state but stopped, under its own name). */
const runsOn = (host: string, name: string) => {
  const fleet = chat.stack.sim.fleet;
  const d = fleet.findDomain(fleet.host(host), name);
  return d !== undefined && d !== null && !/--migratedaway$/.test(d.name);
};

describe('the first command after a guest moved outside xenops', () => {
  it('GIVEN web migrated by hand from xen1 to xen2 WHEN /show web THEN the reply says it runs on xen2 now, and how to see it there', async () => {
    expect(await chat.byHand('xen1', 'xl migrate web xen2')).toBe(0);
    const listsOnXen2 = chat.sent('xen2', /\blist\b/);

    const out = await chat.say('/show web');
    expect(out).not.toContain('web on xen1 (not running)');
    expect(out).toContain(
      'web is no longer running on xen1: a guest of that name runs on xen2 now (moved or started there outside xenops)',
    );
    expect(out).toContain('/show xen2:web');
    // xen2 was asked (its list), not answered from the view that predates the move.
    expect(chat.sent('xen2', /\blist\b/)).toBeGreaterThan(listsOnXen2);
  });

  it('GIVEN gateway migrated by hand WHEN /stop gateway THEN nothing is stopped anywhere and the reply says where it runs and what to type', async () => {
    expect(await chat.byHand('xen1', 'xl migrate gateway xen2')).toBe(0);
    const out = await chat.say('/stop gateway');
    expect(out).not.toContain('gateway is not running on xen1');
    expect(out).toContain(
      'gateway is no longer running on xen1: a guest of that name runs on xen2 now (moved or started there outside xenops)',
    );
    expect(out).toContain('nothing was done');
    expect(out).toContain('/stop xen2:gateway');
    // Never re-aimed: xen2 was sent no shutdown, and gateway still runs there.
    expect(chat.sent('xen2', /\b(shutdown|destroy)\b/)).toBe(0);
    expect(runsOn('xen2', 'gateway')).toBe(true);
  });

  it('GIVEN a guest gone from xen1 entirely (config too) and running on xen2 WHEN /console THEN the reply says where it runs now', async () => {
    const fleet = chat.stack.sim.fleet;
    fleet.addDomain(fleet.host('xen1'), { name: 'cache', memoryMiB: 256, vcpus: 1, flags: '-b----' });
    expect(await chat.say('/list')).toContain('cache');
    const xen1 = fleet.host('xen1');
    const cache = fleet.findDomain(xen1, 'cache');
    if (!cache) throw new Error('no cache on xen1');
    fleet.removeDomain(xen1, cache);
    fleet.addDomain(fleet.host('xen2'), { name: 'cache', memoryMiB: 256, vcpus: 1, flags: '-b----' });

    const out = await chat.say('/console cache');
    expect(out).not.toContain('no domain cache on xen1');
    expect(out).toContain(
      'cache is no longer running on xen1: a guest of that name runs on xen2 now (moved or started there outside xenops)',
    );
    expect(out).toContain('/console xen2:cache');
  });

  it('GIVEN files moved by hand from xen2 to xen1 WHEN dave (xen2 only) says /stop files THEN xen1 is neither asked nor named', async () => {
    expect(await chat.byHand('xen2', 'xl migrate files xen1')).toBe(0);
    const listsOnXen1 = chat.sent('xen1', /\blist\b/);
    const out = await chat.say('@dave /stop files');
    expect(out).toContain('files is not running on xen2');
    expect(out).not.toContain('xen1');
    expect(chat.sent('xen1', /\blist\b/)).toBe(listsOnXen1);
    expect(runsOn('xen1', 'files')).toBe(true);
  });

  it('GIVEN mail stopped, not moved WHEN /stop mail THEN it is said not to run, with no word of a move', async () => {
    const out = await chat.say('/stop mail');
    expect(out).toContain('mail is not running on xen1');
    expect(out).not.toContain('moved outside xenops');
  });
});
