import { describe, expect, it } from 'vitest';
import { approvalIdIn, discordStack, embeds, shown } from '../helpers/discord-stack.ts';
import type { DcCall, DcMessage } from '../helpers/fake-discord/server.ts';

/**
 * The approval flow as Discord users meet it, through the real discord.js client against the fake Discord: alice asks
 * in the ops channel, the card is also posted to a separate approvals channel, and people click its buttons with the
 * Discord roles they have at that moment. Demo people: alice admin, bob operator on call, carol viewer.
 * erin is not in the config: her xenops roles come only from her Discord role (bound to admin).
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-approvals-token';
const ALICE = '200000000000000001';
const BOB = '200000000000000002';
const CAROL = '200000000000000003';
const ERIN = '200000000000000009';
const ADMIN_ROLE = '500000000000000001';
const APPROVALS = '300000000000000009';

const { dc, sent } = discordStack({ token: TOKEN, roleBindings: { [ADMIN_ROLE]: ['admin'] }, approvalsChannel: APPROVALS });

/** The message in `channelId` that showed approval `id`'s card. */
function cardIn(channelId: string, id: string): DcMessage {
  const m = [...dc.messages.values()].find((x) => x.channelId === channelId && x.flags === 0 && shown(x).includes(`— ${id}`));
  if (!m) throw new Error(`no message in ${channelId} shows ${id}`);
  return m;
}

/** alice runs a slash command that needs approval: her card (the deferred reply) and its copy in the approvals channel. */
async function ask(name: string, options: { name: string; type: number; value: string }[]) {
  const asked = dc.interact(ALICE, { id: '1', name, type: 1, options });
  const edit = await dc.waitFor(
    (c) => c.method === 'PATCH' && c.route.includes(`/${asked.token}/messages/@original`) && embeds(c).includes('Approval needed'),
  );
  const id = approvalIdIn(embeds(edit));
  expect(id).toMatch(/^[A-Z2-9]{6}$/);
  await dc.waitFor((c) => c.method === 'POST' && c.route === `/channels/${APPROVALS}/messages` && embeds(c).includes(`— ${id}`));
  return { id, token: asked.token, mine: cardIn(dc.channelId, id), posted: cardIn(APPROVALS, id) };
}

/** The private answer to a click: an ephemeral follow-up on the click's own token, matching `re`. */
async function privateAnswer(token: string, re: RegExp): Promise<DcCall> {
  const answer = await dc.waitFor((c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${token}` && re.test(embeds(c)));
  expect(answer.body).toMatchObject({ flags: 64 });
  return answer;
}

describe('the approval flow on Discord', () => {
  it('carol and alice are refused privately; bob clicks twice: run once, both cards settle once, the result on alice’s card', async () => {
    const { id, mine, posted } = await ask('stop', [{ name: 'domain', type: 3, value: 'web' }]);
    expect(dc.buttons(posted.id).map((b) => b.label)).toEqual(['Approve', 'Deny']);
    const before = { mine: mine.edits, posted: posted.edits };

    const carol = dc.click(CAROL, mine.id, 'Approve');
    await privateAnswer(carol.token, /"title":"Not allowed"/);
    const alice = dc.click(ALICE, posted.id, 'Approve');
    const own = await privateAnswer(alice.token, /"title":"Not allowed"/);
    expect(embeds(own)).toContain('you cannot approve your own request');
    expect({ mine: dc.messages.get(mine.id)?.edits, posted: dc.messages.get(posted.id)?.edits }).toEqual(before);
    expect(dc.buttons(mine.id).map((b) => b.label)).toEqual(['Approve', 'Deny']);

    const first = dc.click(BOB, posted.id, 'Approve');
    const second = dc.click(BOB, posted.id, 'Approve');
    await dc.waitFor((c) => c.method === 'PATCH' && c.route.includes('/messages/') && embeds(c).includes('web shut down on xen1'));
    const answers = [
      await privateAnswer(first.token, /Approved|already approved/),
      await privateAnswer(second.token, /Approved|already approved/),
    ].map(embeds);
    expect(answers.filter((t) => t.includes(`"title":"Approved ${id}"`))).toHaveLength(1);
    expect(sent('xen1', /\bshutdown\b.*\bweb\b/)).toBe(1);
    expect(shown(dc.messages.get(mine.id))).toContain('web shut down on xen1');
    expect(dc.buttons(mine.id)).toEqual([]);
    expect(shown(dc.messages.get(posted.id))).toContain(`/stop xen1:web approved by bob`);
    expect(dc.buttons(posted.id)).toEqual([]);
    expect(dc.messages.get(posted.id)?.edits).toBe(before.posted + 1);
  }, 60_000);

  it('a denial with a reason, typed as /deny ID reason, shows on both cards without buttons', async () => {
    const { id, mine, posted } = await ask('stop', [{ name: 'domain', type: 3, value: 'files' }]);
    const deny = dc.interact(BOB, {
      id: '2',
      name: 'deny',
      type: 1,
      options: [
        { name: 'id', type: 3, value: id },
        { name: 'reason', type: 3, value: 'not during the backup' },
      ],
    });
    await privateAnswer(deny.token, new RegExp(`Denied ${id}`));
    for (const card of [mine, posted]) {
      await expect.poll(() => shown(dc.messages.get(card.id)), { timeout: 10_000 }).toContain('denied by bob: not during the backup');
      expect(dc.buttons(card.id)).toEqual([]);
    }
    expect(sent('xen2', /\b(shutdown|destroy)\b.*\bfiles\b/)).toBe(0);
  }, 60_000);

  it('roles from a Discord role binding are read from the click: erin without her role is refused, with it approves', async () => {
    const { id, mine } = await ask('stop', [{ name: 'domain', type: 3, value: 'gateway' }]);
    // Her admin role was taken away: the click carries her roles as they are now.
    const without = dc.click(ERIN, mine.id, 'Approve', []);
    await privateAnswer(without.token, /not known to xenops/);
    expect(dc.buttons(mine.id).map((b) => b.label)).toEqual(['Approve', 'Deny']);
    const withRole = dc.click(ERIN, mine.id, 'Approve', [ADMIN_ROLE]);
    await privateAnswer(withRole.token, new RegExp(`Approved ${id}`));
    await expect.poll(() => shown(dc.messages.get(mine.id)), { timeout: 15_000 }).toContain('gateway shut down on xen1');
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bgateway\b/)).toBe(1);
  }, 60_000);

  it('a result that comes after Discord expired the interaction token is edited into alice’s card through the channel', async () => {
    const { mine, token } = await ask('migrate', [
      { name: 'domain', type: 3, value: 'files' },
      { name: 'target', type: 3, value: 'xen1' },
    ]);
    // Discord no longer takes the token (15 minutes went by), whatever the bot's clock says.
    dc.expireToken(token);
    // erin, an admin through her Discord role, approves.
    const click = dc.click(ERIN, mine.id, 'Approve', [ADMIN_ROLE]);
    await privateAnswer(click.token, /Approved/);
    await expect.poll(() => shown(dc.messages.get(mine.id)), { timeout: 30_000 }).toContain('files moved from xen2 to xen1');
    expect(dc.buttons(mine.id)).toEqual([]);
    // In place: no second message with the result.
    const withResult = [...dc.messages.values()].filter((m) => shown(m).includes('files moved from xen2 to xen1'));
    expect(withResult.map((m) => m.id)).toEqual([mine.id]);
  }, 60_000);
});

describe('a card someone deleted while the request waited', () => {
  it('approved from the approvals channel: alice gets one new message, which shows it running and then its result', async () => {
    const { mine, posted } = await ask('pause', [{ name: 'domain', type: 3, value: 'files' }]);
    // A moderator tidies the ops channel.
    dc.messages.delete(mine.id);
    const before = new Set(dc.messages.keys());
    const click = dc.click(BOB, posted.id, 'Approve');
    await privateAnswer(click.token, /Approved/);
    const fresh = () => [...dc.messages.values()].filter((m) => !before.has(m.id) && m.channelId === dc.channelId && m.flags === 0);
    await expect.poll(() => fresh().map(shown).join('\n'), { timeout: 15_000 }).toMatch(/files paused/);
    expect(sent('xen1', /\bpause\b.*\bfiles\b/)).toBe(1);
    // One message took the place of the deleted card: no "running now" left behind beside the result.
    expect(fresh()).toHaveLength(1);
    expect(dc.buttons(posted.id)).toEqual([]);
  }, 60_000);
});
