import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/sim/interpreter.ts';
import { demoChat } from '../helpers/stack.ts';

/**
 * `xl migrate` run by hand leaves the guest's config file on the host it left: that host then lists it as a stopped
 * copy, not as "no such domain". The bot, which last heard web run on xen1, sends its first command there; that answer
 * (web is not running on xen1) must make it ask the other hosts before it next sends the name anywhere — never keep
 * acting on the stopped copy it left behind until the periodic refresh.
 */
// A refresh far away: only what the bot learns from its own commands can correct its view within the test.
const chat = demoChat((c) => ({
  ...c,
  approvals: { ...c.approvals, enabled: false },
  // The sampler's "moved outside xenops" alerts would come between a command and its answer at the terminal.
  alerts: { ...c.alerts, enabled: false },
  bot: { ...c.bot, fleetRefreshMs: 3_600_000 },
}));

/** A command an administrator types on a host's shell, outside xenops. */
async function byHand(host: string, command: string): Promise<number> {
  const fleet = chat.stack.sim.fleet;
  return runCommand(
    fleet,
    fleet.host(host),
    command,
    { out: () => {}, err: () => {}, sleep: () => Promise.resolve(), signal: new AbortController().signal },
    { shutdownDelayMs: 0 },
  );
}

describe('a guest migrated by hand, its config file left behind', () => {
  it('GIVEN web migrated by hand from xen1 to xen2 WHEN a read finds only its stopped copy on xen1 THEN the next /show and /stop act on xen2', async () => {
    expect(await byHand('xen1', 'xl migrate web xen2')).toBe(0);
    const xen1 = chat.stack.sim.fleet.host('xen1');
    expect(xen1.files.has('/etc/xen/vm/web.cfg')).toBe(true);

    // Sent where the bot last heard it run: xen1 has only its stopped copy now.
    const first = await chat.say('/show web');
    expect(first).toContain('web on xen1 (not running)');

    const listsOnXen2 = chat.sent('xen2', /\blist\b/);
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
    expect(await byHand('xen1', 'xl migrate gateway xen2')).toBe(0);
    const first = await chat.say('/stop gateway');
    expect(first).toContain('gateway is not running on xen1');

    const second = await chat.say('/stop gateway');
    expect(second).toContain('gateway shut down on xen2');
    expect(second).not.toContain('not running on xen1');
  });
});
