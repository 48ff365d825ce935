import { describe, expect, it, vi } from 'vitest';
import { approvalDeskScene, type SceneDesk } from '../../test/helpers/approval-desk-scene.ts';
import type { Platform } from '../config/schema.ts';
import { DeliverablePlatforms } from './leadership.ts';

const DC_APPROVALS = '300000000000000009';

const { person, makeDesk, askStop } = approvalDeskScene({
  people: { frank: { roles: ['operator'], identities: { terminal: 'frank', discord: '100000000000000001' } } },
  approvals: { escalateMinutes: 5, channels: [{ platform: 'discord', id: DC_APPROVALS }] },
  // /approve and /deny are allowed in the Discord approvals channel: its card has the buttons.
  channels: [
    { platform: 'terminal', id: '*' },
    { platform: 'discord', id: DC_APPROVALS },
  ],
});

/**
 * A terminal bot (`xenops bot --terminal`, where frank asks) beside Discord bots on one Redis prefix, the config's
 * approvals.channels naming a Discord channel only these can post to. `leads`: whether a Discord bot holds the lease
 * (bot.ha: only the leader serves Discord; a standby has the adapter, but may not post).
 */
async function discordBot(leads: () => boolean = () => true, start = true): Promise<SceneDesk> {
  return makeDesk({ platforms: DeliverablePlatforms.of(['discord'] as Platform[], new Set<Platform>(['discord']), leads) }, start);
}

const cardsIn = (b: SceneDesk, channel = DC_APPROVALS) => b.delivered.filter((d) => d.channel === channel).map((d) => d.reply.title);
const eventually = (read: () => unknown, want: unknown) => vi.waitFor(() => expect(read()).toEqual(want), { timeout: 3_000, interval: 20 });

describe('an approval channel on a platform the requesting bot lacks (a terminal request, a Discord approvals channel)', () => {
  it('is posted by the Discord bot: the on-call people there see the card, with its buttons', async () => {
    const terminal = await makeDesk();
    const discord = await discordBot();
    try {
      const id = await askStop(terminal.desk, 'req-other-bot-1', { requester: 'frank' });
      await eventually(() => cardsIn(discord), [`Approval needed: /stop xen1:web — ${id}`]);
      const card = discord.delivered.find((d) => d.channel === DC_APPROVALS)?.reply;
      expect((card?.actions ?? []).map((a) => a.label)).toEqual(['Approve', 'Deny']);
      expect((card?.mentions ?? []).map((m) => m.person)).toEqual(['bob']);
    } finally {
      terminal.desk.stop();
      discord.desk.stop();
    }
  });

  it('with an HA pair, only the leader posts it, once — and a standby taking over later does not post it again', async () => {
    let firstLeads = true;
    const terminal = await makeDesk();
    const first = await discordBot(() => firstLeads);
    const second = await discordBot(() => !firstLeads);
    try {
      const id = await askStop(terminal.desk, 'req-other-bot-2', { requester: 'frank' });
      await eventually(() => cardsIn(first), [`Approval needed: /stop xen1:web — ${id}`]);
      // The standby takes over (its term begins: start()), and finds it posted already.
      firstLeads = false;
      first.desk.release();
      await second.desk.start();
      expect([cardsIn(first).length, cardsIn(second)]).toEqual([1, []]);
    } finally {
      for (const b of [terminal, first, second]) b.desk.stop();
    }
  });

  it('no Discord bot leads as it is asked: the next leader posts it when its term begins', async () => {
    const terminal = await makeDesk();
    const later = await discordBot(() => true, false);
    try {
      const id = await askStop(terminal.desk, 'req-other-bot-3', { requester: 'frank' });
      expect(cardsIn(later)).toEqual([]);
      await later.desk.start();
      expect(cardsIn(later)).toEqual([`Approval needed: /stop xen1:web — ${id}`]);
    } finally {
      terminal.desk.stop();
      later.desk.stop();
    }
  });

  it('approved on the terminal: the Discord card says so and loses its buttons', async () => {
    const terminal = await makeDesk();
    const discord = await discordBot();
    try {
      const id = await askStop(terminal.desk, 'req-other-bot-4', { requester: 'frank' });
      await eventually(() => cardsIn(discord).length, 1);
      expect((await terminal.desk.approve(id, person('bob'), 'terminal')).title).toBe(`Approved ${id}`);
      await eventually(() => cardsIn(discord).at(-1), '/stop xen1:web approved by bob');
      expect(discord.delivered.at(-1)?.reply.actions ?? []).toEqual([]);
    } finally {
      terminal.desk.stop();
      discord.desk.stop();
    }
  });

  it('expired unanswered (the terminal bot times it): the Discord card says it expired', async () => {
    const terminal = await makeDesk();
    const discord = await discordBot();
    try {
      const id = await askStop(terminal.desk, 'req-other-bot-5', { requester: 'frank', expiresMinutes: 0.01 });
      await eventually(() => cardsIn(discord).at(-1), `Approval ${id} expired`);
    } finally {
      terminal.desk.stop();
      discord.desk.stop();
    }
  });

  it('escalated (by the terminal bot): the Discord card is drawn again, calling on whom it was escalated to', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const terminal = await makeDesk({ nextOnCall: async () => 'frank' });
    const discord = await discordBot();
    try {
      const id = await askStop(terminal.desk, 'req-other-bot-6', { requester: 'alice' });
      await vi.waitFor(() => expect(cardsIn(discord).length).toBe(1), { timeout: 3_000, interval: 20 });
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      // This one's cards only: the terminal bot adopted the earlier tests' requests too, and escalates them as well.
      const its = () => discord.delivered.filter((d) => d.channel === DC_APPROVALS && d.reply.title.includes(id));
      await vi.waitFor(
        () => expect(its().at(-1)?.reply.title).toBe(`Escalated to frank (next on call): approval ${id} is still unanswered`),
        {
          timeout: 3_000,
          interval: 20,
        },
      );
      const card = its().at(-1)?.reply;
      expect((card?.mentions ?? []).map((m) => m.person).sort()).toEqual(['bob', 'frank']);
    } finally {
      terminal.desk.stop();
      discord.desk.stop();
      vi.useRealTimers();
    }
  });
});
