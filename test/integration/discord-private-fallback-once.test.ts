import { describe, expect, it } from 'vitest';
import type { ReplyTarget } from '../../src/adapters/types.ts';
import { reply } from '../../src/core/reply.ts';
import { discordStack, embeds, shown } from '../helpers/discord-stack.ts';

/**
 * A reply moved to the asker's direct messages (the interaction token no longer taken, the channel gone or refusing):
 * the later updates of the same request go there too — and what could not be done for the first (the channel note,
 * the direct message itself) is not tried again, a failing call, for every one of them. Through the real discord.js
 * client against the fake Discord; alice and carol are demo people.
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-private-once-token';
const ALICE = '200000000000000001';
const CAROL = '200000000000000003';

const discord = discordStack({ token: TOKEN, warm: false });
const { dc } = discord;
const adapter = () => discord.adapter;
let channels = 0;

/** A /whoami from `userId` in a channel of its own, answered: a target for its later replies, as a job would hold. */
async function interactionTarget(userId: string, requestId: string): Promise<ReplyTarget> {
  const channelId = String(300000000000000040n + BigInt(++channels));
  const { token } = dc.interact(userId, { id: '3', name: 'whoami', type: 1 }, 2, [], undefined, { channelId });
  await dc.waitFor((c) => c.method === 'PATCH' && c.route.includes(`/${token}/messages/@original`) && embeds(c).includes('You are'));
  return {
    platform: 'discord',
    channelId,
    requestId,
    state: { appId: dc.appId, token, expiresAt: Date.now() + 60_000, channelId, userId, command: 'migrate' },
  };
}

/** The calls made since `from` (an index into dc.calls). */
const since = (from: number) => dc.calls.slice(from).map((c) => `${c.method} ${c.route}`);

describe('a reply moved to a direct message', () => {
  it('the channel note that could not be written (the channel gone) is not tried again on each later update', async () => {
    const target = await interactionTarget(ALICE, 'once-channel-gone');
    const running = await adapter().deliver(target, reply.progress('/migrate files', 'moving files to xen1'));
    expect(shown(dc.messages.get(String(running.state['messageId'])))).toContain('moving files to xen1');
    dc.expireToken(String(target.state['token']));
    dc.deleteChannel(target.channelId);

    let next = await adapter().deliver(running, reply.progress('/migrate files', 'moving files to xen1: 40%'));
    const dm = String(next.state['dmMessageId']);
    expect(shown(dc.messages.get(dm))).toContain('40%');
    const from = dc.calls.length;
    for (const pct of [60, 80]) next = await adapter().deliver(next, reply.progress('/migrate files', `moving files to xen1: ${pct}%`));
    next = await adapter().deliver(next, reply.result('files moved to xen1', [reply.text('done')]));

    expect(shown(dc.messages.get(dm))).toContain('files moved to xen1');
    // Only the direct message is edited: nothing more is asked of the deleted channel, nor of the expired token.
    expect(since(from)).toEqual(Array(3).fill(`PATCH /channels/${dc.messages.get(dm)?.channelId}/messages/${dm}`));
  });

  it('a user who takes no direct messages: refused once (50007), not again for each later update', async () => {
    dc.closeDirectMessages(CAROL);
    const target = await interactionTarget(CAROL, 'once-dm-closed');
    const late = { ...target, state: { ...target.state, expiresAt: Date.now() - 1 } };
    let next = await adapter().deliver(late, reply.error('Migration failed', 'files could not be moved to xen1: disk full'));
    const note = dc.messages.get(String(next.state['noticeId']));
    expect(note?.content).toMatch(/could not be delivered privately/);
    const from = dc.calls.length;
    for (const pct of [20, 40, 60]) next = await adapter().deliver(next, reply.progress('/migrate files', `retrying: ${pct}%`));

    // Each update would have opened the DM channel again and been refused 403 — and 403s count towards Discord's
    // invalid-request limit (10,000 in 10 minutes, then the bot's address is banned for a while).
    expect(since(from)).toEqual([]);
    expect(dc.directMessages(CAROL)).toEqual([]);
    expect(note?.edits).toBe(0);
  });
});
