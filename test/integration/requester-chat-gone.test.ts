import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import { TelegramAdapter } from '../../src/adapters/telegram/index.ts';
import type { ChatAdapter } from '../../src/adapters/types.ts';
import type { Config } from '../../src/config/schema.ts';
import { type DcCall, FakeDiscord } from '../helpers/fake-discord/server.ts';
import { FakeTelegram, type TgCall } from '../helpers/fake-telegram/server.ts';
import { quietLogger } from '../helpers/sim.ts';
import { fleetWarm, startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * An approved request whose requester's chat is gone by the time it runs (the Discord channel deleted, the bot removed
 * from the Telegram group): the result goes to the requester privately, and the approver and the approval channels are
 * told where it goes — never "alice gets the result" for a result that reaches nobody. Real discord.js and telegraf
 * clients against the fake servers. Demo people: alice admin (1001 / …001), bob operator and on call (1002 / …002).
 */
const DC_TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.requester-chat-gone';
const TG_TOKEN = '123456789:AArequesterCHATgoneTOKEN00000000';
/** Where alice asks on Telegram; the approvals go to another group and another Discord channel. */
const GROUP = { id: -1001000000001, type: 'supergroup' as const, title: 'ops' };
const GROUP3 = { id: -1001000000003, type: 'supergroup' as const, title: 'lab' };
const APPROVALS_TG = { id: -1001000000002, type: 'supergroup' as const, title: 'approvals' };
const APPROVALS_DC = '300000000000000009';
const TG = { alice: 1001, bob: 1002 };
const DC = { alice: '200000000000000001', bob: '200000000000000002' };

let dc: FakeDiscord;
let tg: FakeTelegram;
let stack: TestStack;

const tgText = (c: TgCall) => String(c.body['text'] ?? '');
const embeds = (c: DcCall) => JSON.stringify((c.body?.['embeds'] as unknown[] | undefined) ?? []);
const idIn = (text: string) => /Approval needed: [^<\n"]*? — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';
const sent = (host: string, re: RegExp) => (stack.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c)).length;
const repliesTo = (c: TgCall, id: number) => (c.body['reply_parameters'] as { message_id?: number } | undefined)?.message_id === id;

/** The approval card in the Discord approvals channel for `id`. */
async function dcApprovalCard(id: string): Promise<string> {
  await dc.waitFor((c) => c.method === 'POST' && c.route === `/channels/${APPROVALS_DC}/messages` && embeds(c).includes(`— ${id}`));
  const m = [...dc.messages.values()].find((x) => x.channelId === APPROVALS_DC && JSON.stringify(x.embeds).includes(`— ${id}`));
  if (!m) throw new Error(`no Discord approval card for ${id}`);
  return m.id;
}

/** The approval card in the Telegram approvals group for `id`. */
async function tgApprovalCard(id: string): Promise<number> {
  const c = await tg.waitFor(
    (x) => x.method === 'sendMessage' && Number(x.body['chat_id']) === APPROVALS_TG.id && tgText(x).includes(`— ${id}`),
  );
  return c.messageId ?? 0;
}

/** alice asks in the Telegram group; resolves with the approval id once it is announced on Discord. */
async function askOnTelegram(text: string, group = GROUP): Promise<{ id: string; dcCard: string }> {
  const asked = tg.sendText(TG.alice, group, text);
  const card = await tg.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, asked));
  const id = idIn(tgText(card));
  expect(id, tgText(card)).toMatch(/^[A-Z2-9]{6}$/);
  return { id, dcCard: await dcApprovalCard(id) };
}

beforeAll(async () => {
  dc = new FakeDiscord(DC_TOKEN);
  tg = new FakeTelegram(TG_TOKEN);
  await dc.start();
  await tg.start();
  stack = await startTestStack({
    env: { DISCORD_TOKEN: DC_TOKEN, DISCORD_API_ROOT: dc.apiRoot, TELEGRAM_BOT_TOKEN: TG_TOKEN, TELEGRAM_API_ROOT: tg.apiRoot },
    adjustConfig: (c: Config): Config => ({
      ...c,
      discord: { ...c.discord, guildIds: [dc.guildId], roleBindings: {} },
      approvals: {
        ...c.approvals,
        channels: [
          { platform: 'discord', id: APPROVALS_DC },
          { platform: 'telegram', id: String(APPROVALS_TG.id) },
        ],
      },
    }),
    makeAdapters: (config: Config): ChatAdapter[] => [
      new DiscordAdapter({ config, logger: quietLogger }),
      new TelegramAdapter({ config, logger: quietLogger, minIntervalMs: 0, groupPerMinute: 1000 }),
    ],
  });
  await fleetWarm(stack);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await dc?.stop();
  await tg?.stop();
});

describe("an approved request whose requester's chat is gone", () => {
  it('Telegram: the bot removed from the group — the result goes to alice privately, and bob and the cards say so', async () => {
    const { id, dcCard } = await askOnTelegram('/stop web --reason "kernel upgrade"');
    tg.removeBot(GROUP.id);

    const click = dc.click(DC.bob, dcCard, 'Approve');
    const answer = await dc.waitFor(
      (c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${click.token}` && embeds(c).includes(`Approved ${id}`),
    );
    expect(embeds(answer)).toContain("/stop xen1:web is running; alice's chat cannot be reached, so alice gets the result privately");

    // The result reaches alice in her private chat with the bot, saying which request it answers; once.
    await expect
      .poll(() => tg.privateMessages(TG.alice).map((m) => m.text), { timeout: 20_000 })
      .toContainEqual(expect.stringMatching(/web shut down on xen1[\s\S]*Your \/stop in ops/));
    expect(tg.privateMessages(TG.alice).filter((m) => /web shut down on xen1/.test(m.text))).toHaveLength(1);
    expect(sent('xen1', /\bshutdown\b.*\bweb\b/)).toBe(1);

    // The approval channels' cards say where the result goes.
    await expect
      .poll(() => JSON.stringify(dc.messages.get(dcCard)?.embeds))
      .toContain("running; alice's chat cannot be reached: the result goes to alice privately");
  }, 60_000);

  it('Discord: the channel deleted — the result goes to alice as a direct message, and bob is told so', async () => {
    const ask = dc.interact(DC.alice, { id: '10', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: 'gateway' }] });
    const edit = await dc.waitFor(
      (c) => c.method === 'PATCH' && c.route.includes(`/${ask.token}/messages/@original`) && embeds(c).includes('Approval needed'),
    );
    const id = idIn(embeds(edit));
    const tgCard = await tgApprovalCard(id);
    dc.deleteChannel(dc.channelId);

    const press = tg.press(TG.bob, APPROVALS_TG, tgCard, 'Approve');
    const answer = await tg.waitFor(
      (c) => c.method === 'answerCallbackQuery' && c.body['callback_query_id'] === press && tgText(c).includes(`Approved ${id}`),
    );
    expect(tgText(answer)).toContain("/stop xen1:gateway is running; alice's chat cannot be reached");
    expect(tgText(answer)).toContain('so alice gets the result privately');

    await expect
      .poll(() => dc.directMessages(DC.alice).map((m) => JSON.stringify(m.embeds)), { timeout: 20_000 })
      .toContainEqual(expect.stringContaining('gateway shut down on xen1'));
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bgateway\b/)).toBe(1);
    await expect
      .poll(() => tg.message(APPROVALS_TG.id, tgCard)?.text ?? '')
      .toContain("running; alice's chat cannot be reached: the result goes to alice privately");
  }, 60_000);

  it('Telegram: the group gone and alice never started the bot — bob is told the result cannot reach her', async () => {
    const { id, dcCard } = await askOnTelegram('/stop files --reason "disk swap"', GROUP3);
    tg.removeBot(GROUP3.id);
    tg.closePrivateChat(TG.alice);

    const click = dc.click(DC.bob, dcCard, 'Approve');
    const answer = await dc.waitFor(
      (c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${click.token}` && embeds(c).includes(`Approved ${id}`),
    );
    expect(embeds(answer)).toContain(
      "/stop xen2:files is running, but alice's chat cannot be reached, nor alice privately: the result will reach nobody — /audit shows it",
    );
    await expect
      .poll(() => JSON.stringify(dc.messages.get(dcCard)?.embeds))
      .toContain("running; alice's chat cannot be reached, nor alice privately: /audit shows the result");
  }, 60_000);
});
