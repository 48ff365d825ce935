import { describe, expect, it } from 'vitest';
import { demoChat } from '../helpers/stack.ts';

/**
 * The bot resolves a bare domain name from what it last heard each host run (refreshed every bot.fleetRefreshMs).
 * A guest moved or removed outside xenops is then sent to the host it left: that answer must be the last one sent
 * there — the host that said "no such domain" is looked at again before the next command, not after the refresh.
 */
// A refresh far away: only what the bot learns from its own commands can correct its view within the test.
const chat = demoChat((c) => ({ ...c, bot: { ...c.bot, fleetRefreshMs: 3_600_000 } }));

describe('a guest moved outside xenops', () => {
  it('GIVEN gateway moved by hand from xen1 to xen2 WHEN /show gateway fails on xen1 THEN the next /show gateway reads xen2', async () => {
    const fleet = chat.stack.sim.fleet;
    const xen1 = fleet.host('xen1');
    const gw = fleet.findDomain(xen1, 'gateway');
    if (!gw) throw new Error('no gateway on xen1');
    // Moved by hand: gone from xen1 with its config file and autostart link, running on xen2.
    fleet.removeDomain(xen1, gw);
    for (const path of [...xen1.files.keys()].filter((p) => p.endsWith('/gateway.cfg'))) xen1.files.delete(path);
    for (const path of [...xen1.links.keys()].filter((p) => p.endsWith('/gateway.cfg'))) xen1.links.delete(path);
    fleet.addDomain(fleet.host('xen2'), { name: 'gateway', memoryMiB: 512, vcpus: 1, flags: '-b----' });

    const listsOnXen2 = chat.sent('xen2', /\blist\b/);
    const first = await chat.say('/show gateway');
    // Not "no domain gateway on xen1" alone: the hosts were asked where it runs now.
    expect(first).toContain(
      'gateway is no longer running on xen1: a guest of that name runs on xen2 now (moved or started there outside xenops)',
    );

    const second = await chat.say('/show gateway');
    expect(second).toContain('gateway on xen2');
    expect(second).not.toContain('no domain gateway on xen1');
    // xen2 was asked again (on the miss), not answered from the stale view.
    expect(chat.sent('xen2', /\blist\b/)).toBeGreaterThan(listsOnXen2);
  });
});
