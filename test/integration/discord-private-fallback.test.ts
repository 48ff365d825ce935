import { describe, expect, it } from 'vitest';
import type { ReplyTarget } from '../../src/adapters/types.ts';
import { reply } from '../../src/core/reply.ts';
import { approvalIdIn, discordStack, embeds, shown } from '../helpers/discord-stack.ts';
import type { DcCall, DcMessage } from '../helpers/fake-discord/server.ts';

/**
 * Private answers (refusals, errors, the answer to an approve or deny) are ephemeral follow-ups on the interaction's
 * webhook. When Discord no longer takes the token (past its 15 minutes, 401 Invalid Webhook Token) the answer must
 * still reach only the person who asked: never the channel, where everyone would read it. Through the real discord.js
 * client against the fake Discord; demo people: alice admin, carol viewer, dave
 * operator on xen2 only.
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-private-token';
const ALICE = '200000000000000001';
const CAROL = '200000000000000003';
const DAVE = '200000000000000004';
const APPROVALS = '300000000000000009';

const discord = discordStack({ token: TOKEN, approvalsChannel: APPROVALS });
const { dc } = discord;
const adapter = () => discord.adapter;

/** Messages everyone in the guild's channels can read (not ephemeral, not a direct message) that match `re`. */
const publicly = (re: RegExp) =>
  [...dc.messages.values()].filter(
    (m) => [dc.channelId, APPROVALS].includes(m.channelId) && (m.flags & 64) === 0 && re.test(`${m.content}${shown(m)}`),
  );

/**
 * The first message the bot posts after the interaction `token`'s webhook refused the answer `re` for `userId`: one
 * showing the answer, or one mentioning the asker; only in `channelId` when given.
 */
async function rerouted(token: string, userId: string, re: RegExp, channelId?: string): Promise<DcCall> {
  const refused = await dc.waitFor((c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${token}` && re.test(embeds(c)));
  const after = dc.calls.indexOf(refused);
  return dc.waitFor(
    (c) =>
      dc.calls.indexOf(c) > after &&
      c.method === 'POST' &&
      (channelId === undefined ? /^\/channels\/\d+\/messages$/.test(c.route) : c.route === `/channels/${channelId}/messages`) &&
      (re.test(embeds(c)) || String(c.body?.['content'] ?? '').includes(`<@${userId}>`)),
  );
}

/** alice asks for /stop `domain`: the card (her deferred reply) with Approve/Deny, also posted to the approvals channel. */
async function ask(domain: string): Promise<{ id: string; card: DcMessage }> {
  const asked = dc.interact(ALICE, { id: '1', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: domain }] });
  const edit = await dc.waitFor(
    (c) => c.method === 'PATCH' && c.route.includes(`/${asked.token}/messages/@original`) && embeds(c).includes('Approval needed'),
  );
  const id = approvalIdIn(embeds(edit));
  const card = [...dc.messages.values()].find((m) => m.channelId === dc.channelId && m.flags === 0 && shown(m).includes(`— ${id}`));
  if (!card) throw new Error(`no card for ${id}`);
  return { id, card };
}

describe('a private answer whose interaction token Discord no longer takes', () => {
  it('a refused click: the refusal goes to the clicker in a direct message, not to the channel; the card stays as it was', async () => {
    const { card } = await ask('web');
    const before = card.edits;
    const click = dc.click(CAROL, card.id, 'Approve');
    dc.expireToken(click.token);
    const sent = await rerouted(click.token, CAROL, /Not allowed/);
    expect(sent.route).toBe(`/channels/${dc.directMessages(CAROL)[0]?.channelId}/messages`);
    expect(dc.directMessages(CAROL).map(shown).join()).toContain('Not allowed');
    expect(publicly(/Not allowed/)).toEqual([]);
    expect(dc.messages.get(card.id)?.edits).toBe(before);
    expect(dc.buttons(card.id).map((b) => b.label)).toEqual(['Approve', 'Deny']);
  }, 60_000);

  it('an error answering a slash command goes to the asker in a direct message, not to the channel', async () => {
    const asked = dc.interact(ALICE, { id: '2', name: 'approve', type: 1, options: [{ name: 'id', type: 3, value: 'ZZZZZZ' }] });
    dc.expireToken(asked.token);
    const sent = await rerouted(asked.token, ALICE, /No such approval request/);
    expect(sent.route).toBe(`/channels/${dc.directMessages(ALICE)[0]?.channelId}/messages`);
    expect(dc.directMessages(ALICE).map(shown).join()).toContain('there is no approval request ZZZZZZ');
    expect(publicly(/No such approval request|ZZZZZZ/)).toEqual([]);
  }, 60_000);

  it('to someone who takes no direct messages: the channel gets only a note that names the command and pings the asker alone', async () => {
    dc.closeDirectMessages(DAVE);
    const asked = dc.interact(DAVE, { id: '2', name: 'approve', type: 1, options: [{ name: 'id', type: 3, value: 'YYYYYY' }] });
    dc.expireToken(asked.token);
    const sent = await rerouted(asked.token, DAVE, /No such approval request/, dc.channelId);
    expect(embeds(sent)).not.toMatch(/No such approval/);
    const note = [...dc.messages.values()].find((m) => m.channelId === dc.channelId && m.content === sent.body?.['content']);
    expect(note?.content).toMatch(/\/approve/);
    expect(note?.embeds).toEqual([]);
    expect(note?.attachments).toEqual([]);
    expect(`${note?.content}`).not.toMatch(/YYYYYY|No such approval/);
    expect(dc.notifications.filter((n) => n.messageId === note?.id).map((n) => n.userId)).toEqual([DAVE]);
    expect(publicly(/No such approval request|YYYYYY/)).toEqual([]);
    expect(dc.directMessages(DAVE)).toEqual([]);
  }, 60_000);
});

describe('the same target after its private answer was rerouted', () => {
  const interactionTarget = async (userId: string, requestId: string): Promise<ReplyTarget> => {
    const { token } = dc.interact(userId, { id: '3', name: 'whoami', type: 1 });
    await dc.waitFor((c) => c.method === 'PATCH' && c.route.includes(`/${token}/messages/@original`) && embeds(c).includes('You are'));
    return {
      platform: 'discord',
      channelId: dc.channelId,
      requestId,
      state: { appId: dc.appId, token, expiresAt: Date.now() + 60_000, channelId: dc.channelId, userId, command: 'migrate' },
    };
  };

  it('its public "running" message becomes a note without the answer, and later answers stay in the direct message', async () => {
    const target = await interactionTarget(ALICE, 'private-later');
    const running = await adapter().deliver(target, reply.progress('/migrate files', 'moving files to xen1'));
    const card = String(running.state['messageId']);
    expect(shown(dc.messages.get(card))).toContain('moving files to xen1');
    dc.expireToken(String(target.state['token']));

    const failed = await adapter().deliver(running, reply.error('Migration failed', 'files could not be moved to xen1: disk full'));
    const dm = dc.messages.get(String(failed.state['dmMessageId']));
    expect(dm?.channelId).toBe(dc.directMessages(ALICE)[0]?.channelId);
    expect(shown(dm)).toContain('disk full');
    const note = dc.messages.get(card);
    expect(note?.content).toBe(`<@${ALICE}>: the answer to your /migrate was sent to you in a direct message.`);
    expect({ embeds: note?.embeds, components: note?.components }).toEqual({ embeds: [], components: [] });

    // A later answer for the same request, even one not marked private, goes where the first went.
    const edits = note?.edits;
    const later = await adapter().deliver(failed, reply.result('files moved to xen1', [reply.text('after a retry')]));
    expect(later.state['dmMessageId']).toBe(dm?.id);
    expect(shown(dc.messages.get(String(dm?.id)))).toContain('files moved to xen1');
    expect(dc.messages.get(card)?.edits).toBe(edits);
    expect(publicly(/disk full|files moved to xen1/)).toEqual([]);
  });

  it('a token past its lifetime by the bot’s own clock: the private answer goes straight to the direct message', async () => {
    const target = await interactionTarget(CAROL, 'private-clock');
    const before = dc.calls.length;
    const late = { ...target, state: { ...target.state, expiresAt: Date.now() - 1 } };
    const next = await adapter().deliver(late, reply.notAllowed('carol may not migrate xen2:files: needs permission domain.migrate'));
    expect(shown(dc.messages.get(String(next.state['dmMessageId'])))).toContain('carol may not migrate xen2:files');
    expect(dc.calls.slice(before).filter((c) => c.route.includes(String(target.state['token'])))).toEqual([]);
    expect(publicly(/may not migrate/)).toEqual([]);
  });

  it('a target kept from before the asker was recorded: the channel is told only that a private answer was lost', async () => {
    const legacy: ReplyTarget = {
      platform: 'discord',
      channelId: dc.channelId,
      requestId: 'private-legacy',
      state: { appId: dc.appId, token: 'itoken-legacy', expiresAt: 1, channelId: dc.channelId },
    };
    const next = await adapter().deliver(legacy, reply.notAllowed('bob may not stop xen1:web'));
    const note = dc.messages.get(String(next.state['noticeId']));
    expect(note?.content).toBe('The answer to a request is private and could not be delivered; it is not shown here.');
    expect(note?.embeds).toEqual([]);
    expect(dc.notifications.filter((n) => n.messageId === note?.id)).toEqual([]);
    expect(publicly(/may not stop/)).toEqual([]);
  });
});

describe('private answers that need no rerouting', () => {
  it('with a token Discord takes: the ephemeral follow-up as before, no direct message', async () => {
    const { card } = await ask('files');
    const opened = () => dc.calls.filter((c) => c.route === '/users/@me/channels').length;
    const before = { opened: opened(), dms: dc.directMessages(CAROL).length };
    const click = dc.click(CAROL, card.id, 'Approve');
    const answer = await dc.waitFor((c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${click.token}`);
    expect(answer.body).toMatchObject({ flags: 64 });
    expect(embeds(answer)).toContain('Not allowed');
    expect({ opened: opened(), dms: dc.directMessages(CAROL).length }).toEqual(before);
  }, 60_000);

  it('without an asker (a scheduled post, an alert): an error is for the channel, as before', async () => {
    const posted = await adapter().post(dc.channelId, reply.error('Fleet status unavailable', 'Redis is unreachable'));
    expect(shown(dc.messages.get(String(posted.state['messageId'])))).toContain('Redis is unreachable');
  });
});
