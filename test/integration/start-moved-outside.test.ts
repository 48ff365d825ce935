import { describe, expect, it } from 'vitest';
import { staleViewChat } from '../helpers/stack.ts';

/**
 * "A guest runs at most once in the fleet" when the bot's view predates a move made by hand: `xl migrate web xen2` run
 * on xen1's shell leaves web's config file there, so xen1 lists a stopped (defined) web — exactly what /start would
 * create a second copy from, on the disks the copy on xen2 is writing. Neither the bare name nor `xen1:web` may reach
 * `xl create` on xen1; with xen2 unreadable the start is refused, saying so, since that is when a double start is
 * likeliest.
 */
// No sampler: its own `xl list`s would correct the view that this is about, and blur which hosts were asked.
const staleChat = () =>
  staleViewChat((c) => ({ ...c, approvals: { ...c.approvals, enabled: false }, sampling: { ...c.sampling, enabled: false } }));

/** The domains `host` holds in the simulator (a defined-only guest is a config file, not one of them). */
const domainsOn = (chat: ReturnType<typeof staleChat>, host: string) => chat.stack.sim.fleet.host(host).domains.map((d) => d.name);

describe('/start of a guest migrated by hand to another host, its config file left behind', () => {
  const chat = staleChat();

  it.each(['/start web', '/start xen1:web'])(
    'GIVEN web migrated by hand from xen1 to xen2 WHEN %s THEN it is refused naming xen2, and no xl create reaches xen1',
    async (line) => {
      if (line === '/start web') {
        expect(await chat.byHand('xen1', 'xl migrate web xen2')).toBe(0);
        expect(chat.stack.sim.fleet.host('xen1').files.has('/etc/xen/vm/web.cfg')).toBe(true);
      }
      const creates = chat.sent('xen1', /\bcreate\b/);
      const listsOnXen2 = chat.sent('xen2', /\blist\b/);

      const out = await chat.say(line);
      expect(out).toContain('web is running on xen2 — starting it on xen1 would run it twice');
      expect(out).not.toContain('web started');
      expect(chat.sent('xen1', /\bcreate\b/)).toBe(creates);
      // xen2 was asked now, not answered from the view that predates the move.
      expect(chat.sent('xen2', /\blist\b/)).toBeGreaterThan(listsOnXen2);
      expect(domainsOn(chat, 'xen1')).not.toContain('web');
      expect(domainsOn(chat, 'xen2')).toContain('web');
    },
    30_000,
  );

  // The control: the count above would see a create, and the check does not refuse once the copy on xen2 is gone.
  it('GIVEN web then destroyed by hand on xen2 WHEN /start xen1:web THEN it starts on xen1 from the config file left there', async () => {
    expect(await chat.byHand('xen2', 'xl destroy web')).toBe(0);
    const creates = chat.sent('xen1', /\bcreate\b/);
    const out = await chat.say('/start xen1:web');
    expect(out).toContain('web started on xen1');
    expect(chat.sent('xen1', /\bcreate\b/)).toBe(creates + 1);
    expect(domainsOn(chat, 'xen1')).toContain('web');
  }, 30_000);
});

describe('/start of a guest migrated by hand, the host it runs on unreachable at the start', () => {
  const chat = staleChat();

  it.each(['/start web', '/start xen1:web'])(
    'GIVEN web migrated by hand to xen2 and xen2 unreachable WHEN %s THEN it is refused, saying xen2 could not be read; no xl create reaches xen1',
    async (line) => {
      const sim = chat.stack.sim;
      if (line === '/start web') expect(await chat.byHand('xen1', 'xl migrate web xen2')).toBe(0);
      const creates = chat.sent('xen1', /\bcreate\b/);
      const fault = await sim.faults.add('xen2', { kind: 'drop', times: 0 });
      sim.faults.dropConnections('xen2');
      try {
        const out = await chat.say(line);
        expect(out).toContain('cannot confirm web is not running on xen2 (unreachable): not starting it');
        expect(out).not.toContain('web started');
        expect(chat.sent('xen1', /\bcreate\b/)).toBe(creates);
      } finally {
        await sim.faults.remove(fault.id);
      }
      expect(domainsOn(chat, 'xen1')).not.toContain('web');
    },
    30_000,
  );
});
