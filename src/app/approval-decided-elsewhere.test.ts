import { describe, expect, it, vi } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import { Config } from '../config/schema.ts';

const { config, person, makeDesk, askStop } = approvalDeskScene({
  people: { frank: { roles: ['operator'], identities: { terminal: 'frank', discord: '100000000000000001' } } },
  approvals: { channels: [{ platform: 'terminal', id: 'approvals' }] },
});

/**
 * Two bots on one Redis, as the README has them: a terminal bot (`xenops bot --terminal`), where frank asks, and a
 * Discord bot beside it, where bob decides. The Discord bot cannot post to the terminal: what it delivers there goes
 * nowhere (the bot's deliver logs "no adapter" and returns).
 */
async function twoBots(over: { config?: Config } = {}) {
  const terminal = await makeDesk();
  const discord = await makeDesk({ platforms: new Set(['discord']), deliver: async (t) => t, ...over });
  return {
    terminal,
    discord,
    stop: () => {
      for (const b of [terminal, discord]) b.desk.stop();
    },
  };
}

const lastOn = (delivered: { channel: string; reply: { title: string } }[], channel: string) =>
  delivered.filter((d) => d.channel === channel).at(-1)?.reply.title;

describe('a request decided on a bot that cannot post to its cards (a Discord bot beside the terminal one)', () => {
  it('approved there: the cards of the bot that took it stop asking for approval and say it was approved', async () => {
    const { terminal, discord, stop } = await twoBots();
    try {
      const id = await askStop(terminal.desk, 'req-elsewhere-1', { requester: 'frank' });
      expect((await discord.desk.approve(id, person('bob'), 'discord')).title).toBe(`Approved ${id}`);
      await expectEventually(() => lastOn(terminal.delivered, 'approvals'), '/stop xen1:web approved by bob');
      // The requester's card is left to the result, which the relay edits in.
      expect(lastOn(terminal.delivered, 'terminal')).toBe(`Approval needed: /stop xen1:web — ${id}`);
    } finally {
      stop();
    }
  });

  it('denied there: both cards say so', async () => {
    const { terminal, discord, stop } = await twoBots();
    try {
      const id = await askStop(terminal.desk, 'req-elsewhere-2', { requester: 'frank' });
      expect((await discord.desk.deny(id, person('bob'), 'not now')).title).toBe(`Denied ${id}`);
      await expectEventually(
        () => [lastOn(terminal.delivered, 'terminal'), lastOn(terminal.delivered, 'approvals')],
        ['/stop xen1:web was denied by bob: not now', '/stop xen1:web was denied by bob: not now'],
      );
    } finally {
      stop();
    }
  });

  it("approved there but not run: both cards, the requester's too, say it did not run", async () => {
    const { terminal, discord, stop } = await twoBots({
      config: Config.parse({ ...config, commands: { stop: { disabled: true } } }),
    });
    try {
      const id = await askStop(terminal.desk, 'req-elsewhere-3', { requester: 'frank' });
      expect((await discord.desk.approve(id, person('bob'), 'discord')).title).toBe('Approved, but not run');
      const notRun = '/stop xen1:web was approved but did not run';
      await expectEventually(() => [lastOn(terminal.delivered, 'terminal'), lastOn(terminal.delivered, 'approvals')], [notRun, notRun]);
    } finally {
      stop();
    }
  });

  it('a bot that neither took nor adopted the request leaves its cards alone', async () => {
    const { terminal, discord, stop } = await twoBots();
    // A second terminal bot (another operator's), which took nothing: it must not print another's cards.
    const other = await makeDesk();
    try {
      const id = await askStop(terminal.desk, 'req-elsewhere-4', { requester: 'frank' });
      await discord.desk.deny(id, person('bob'), undefined);
      await expectEventually(() => lastOn(terminal.delivered, 'approvals'), '/stop xen1:web was denied by bob');
      expect(other.delivered).toEqual([]);
    } finally {
      stop();
      other.desk.stop();
    }
  });
});

/** What `read` gives, once it gives `want` (the other bot hears of the decision through Redis, not at once). */
async function expectEventually(read: () => unknown, want: unknown): Promise<void> {
  await vi.waitFor(() => expect(read()).toEqual(want), { timeout: 3_000, interval: 20 });
}
