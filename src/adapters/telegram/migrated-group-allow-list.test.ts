import { describe, expect, it } from 'vitest';
import { answerTo, useTelegramStack } from '../../../test/helpers/fake-telegram/stack.ts';
import { createLogger } from '../../core/log.ts';

/**
 * A config that lets xenops into one basic group by its id (`channels: [{ platform: telegram, id: <group id> }]`):
 * when a member upgrades the group to a supergroup (topics, history for new members), Telegram gives it a new id and
 * every message comes from that. Telegram itself says which group the supergroup was (service messages, and a 400 with
 * migrate_to_chat_id for any call to the old id): the supergroup is the same chat, let in as the config lets the
 * group in, and the log tells the operator the id to put in the config.
 */
const TOKEN = '123456786:AAallowlistTOKENallowlistTOKENallo00';
const ANNOUNCED = { old: -4100000001, new: -1004100000001 };
const UNANNOUNCED = { old: -4100000002, new: -1004100000002 };
const LIMITED = { old: -4100000003, new: -1004100000003 };
const STRANGER = { id: -1004100000009, type: 'supergroup' as const, title: 'elsewhere' };
const supergroup = (id: number) => ({ id, type: 'supergroup' as const, title: 'ops' });

const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });

const tg = useTelegramStack(TOKEN, {
  logger,
  adjustConfig: (c) => ({
    ...c,
    channels: [
      { platform: 'telegram', id: String(ANNOUNCED.old) },
      { platform: 'telegram', id: String(UNANNOUNCED.old) },
      { platform: 'telegram', id: String(LIMITED.old), commands: ['whoami'] },
    ],
  }),
});
const { fake } = tg;

describe('a basic group let in by its id, upgraded to a supergroup', () => {
  it('GIVEN Telegram announced the upgrade THEN commands in the supergroup are answered, and the log names the new id', async () => {
    const last = fake.migrateChat(ANNOUNCED.old, ANNOUNCED.new, { announced: true });
    // The next poll comes once the bot has handled the service messages.
    await fake.waitForPoll((p) => p.offset > last);
    const id = fake.sendText(1001, supergroup(ANNOUNCED.new), '/whoami');
    expect(await answerTo(fake, id)).toMatch(/^ℹ️ <b>You are alice<\/b>/);
    const told = lines.filter((l) => /update the config/.test(l.msg));
    expect(told.map((l) => l.msg)).toEqual([
      `telegram group ${ANNOUNCED.old} was upgraded to supergroup ${ANNOUNCED.new}: the config's channels entry for the group ` +
        `lets the supergroup in; update the config: channels: { platform: telegram, id: "${ANNOUNCED.new}" }`,
    ]);
  });

  it('GIVEN the bot never got the announcement (down while it came) THEN Telegram is asked, and the command answered', async () => {
    fake.migrateChat(UNANNOUNCED.old, UNANNOUNCED.new);
    const id = fake.sendText(1001, supergroup(UNANNOUNCED.new), '/whoami');
    expect(await answerTo(fake, id)).toMatch(/^ℹ️ <b>You are alice<\/b>/);
    expect(lines.some((l) => l.msg.includes(`update the config: channels: { platform: telegram, id: "${UNANNOUNCED.new}" }`))).toBe(true);
  });

  it("keeps the group's command filter in the supergroup", async () => {
    fake.migrateChat(LIMITED.old, LIMITED.new, { announced: true });
    const id = fake.sendText(1001, supergroup(LIMITED.new), '/list');
    expect(await answerTo(fake, id)).toBe('⛔ <b>Not allowed here</b>\n/list is not allowed in this channel');
  });

  it('still refuses a supergroup that was no allowed group, naming its id', async () => {
    const id = fake.sendText(1001, STRANGER, '/whoami');
    expect(await answerTo(fake, id)).toBe(`⛔ <b>Not allowed here</b>\nxenops is not enabled in this telegram channel (${STRANGER.id})`);
  });
});
