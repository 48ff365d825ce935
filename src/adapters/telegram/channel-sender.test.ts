import { describe, expect, it } from 'vitest';
import { answerTo, useTelegramStack } from '../../../test/helpers/fake-telegram/stack.ts';

/**
 * A group member may post "as a channel" they own: Telegram then sends `from` as its placeholder user 136817688
 * (@Channel_Bot) — the same for every channel — and the real sender in `sender_chat`. Identities and permissions must
 * rest on the channel, never on the placeholder: erin, whose telegram identity an admin set to the id the bot once
 * named in a refusal (136817688), must not be whoever posts as any channel.
 */
const TOKEN = '123456784:AAchannelTOKENchannelTOKENchannel00';
const GROUP = { id: -1007878787878, type: 'supergroup' as const, title: 'ops' };

const tg = useTelegramStack(TOKEN, {
  adjustConfig: (c) => ({
    ...c,
    people: { ...c.people, erin: { roles: ['admin'], identities: { telegram: '136817688' }, onCall: false } },
  }),
});
const { fake } = tg;
const answer = (id: number) => answerTo(fake, id);

describe('a message sent as a channel', () => {
  it('is refused as the channel it came from, naming its id, not as a person', async () => {
    const id = fake.sendText(0, GROUP, '/list', { asChannel: { id: -1002222222222, title: 'mallory news' } });
    expect(await answer(id)).toBe(
      '⛔ <b>Not allowed</b>\nyou are not known to xenops (your telegram id is -1002222222222); ask an admin to add you',
    );
  });

  it('never runs as the person whose identity is the placeholder every channel shares', async () => {
    const id = fake.sendText(0, GROUP, '/stop web', { asChannel: { id: -1003333333333, title: 'anyone' } });
    expect(await answer(id)).toBe(
      '⛔ <b>Not allowed</b>\nyou are not known to xenops (your telegram id is -1003333333333); ask an admin to add you',
    );
    expect(tg.stack.sim.hosts['xen1']?.commandLog.filter((c) => c.includes('shutdown'))).toEqual([]);
  });
});
