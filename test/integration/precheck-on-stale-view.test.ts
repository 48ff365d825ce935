import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/sim/interpreter.ts';
import { demoChat } from '../helpers/stack.ts';

/**
 * A command's precheck refuses on what the bot last heard each host run ("web is already on xen2", "running on xen2 —
 * starting it on xen1 would run it twice"). A guest moved or stopped outside xenops since must not be refused on that
 * stale word: the hosts are asked once, and the refusal (or the job) follows what they say. The common path — a
 * request the precheck lets through — costs no extra round trip.
 */
const chat = demoChat((c) => ({
  ...c,
  approvals: { ...c.approvals, enabled: false },
  // The sampler's "moved outside xenops" alerts would come between a command and its answer at the terminal.
  alerts: { ...c.alerts, enabled: false },
  // A refresh far away: only the lookups and the commands' own results change the bot's view within the test.
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

describe('a precheck refusal made on a stale view', () => {
  it('GIVEN web migrated to xen2 by xenops, then back to xen1 by hand WHEN /migrate web xen2 THEN it is moved from xen1, not called "already on xen2"', async () => {
    expect(await chat.say('/migrate web xen2')).toContain('web moved from xen1 to xen2');
    expect(await byHand('xen2', 'xl migrate web xen1')).toBe(0);

    const out = await chat.say('/migrate web xen2');
    expect(out).not.toContain('already on xen2');
    expect(out).toContain('web moved from xen1 to xen2');
    expect(chat.stack.sim.fleet.findDomain(chat.stack.sim.fleet.host('xen2'), 'web')?.flags).toMatch(/^-b/);
  });

  it('GIVEN gateway migrated to xen2 by xenops, then destroyed there by hand WHEN /start xen1:gateway THEN it starts on xen1, not refused as running on xen2', async () => {
    expect(await chat.say('/migrate gateway xen2')).toContain('gateway moved from xen1 to xen2');
    expect(await byHand('xen2', 'xl destroy gateway')).toBe(0);

    const out = await chat.say('/start xen1:gateway');
    expect(out).not.toContain('would run it twice');
    expect(out).toContain('gateway started on xen1');
  });

  it('GIVEN a precheck that still holds on fresh lists WHEN /migrate files xen2 THEN it is refused as already there', async () => {
    const out = await chat.say('/migrate files xen2');
    expect(out).toContain('files is already on xen2: nothing to move');
  });
});
