import { describe, expect, it } from 'vitest';
import { repliesTo, useTelegramStack } from '../../../test/helpers/fake-telegram/stack.ts';

/**
 * A forwarded message keeps its text and entities, a bot_command at offset 0 included: forwarding someone's
 * "/pause web" to the ops group (to ask about it, to keep a record) must not pause web as whoever forwarded it.
 */
const TOKEN = '123456783:AAforwardTOKENforwardTOKENforward00';
const GROUP = { id: -1006565656565, type: 'supergroup' as const, title: 'ops' };

const tg = useTelegramStack(TOKEN);
const { fake } = tg;

describe('a forwarded command', () => {
  it('is not run, nor answered, for the one who forwarded it', async () => {
    // alice (1001, admin) forwards bob's (1002) earlier commands.
    const pause = fake.sendText(1001, GROUP, '/pause web', { forwardedFrom: 1002 });
    const whoami = fake.sendText(1001, GROUP, '/whoami', { forwardedFrom: 1002 });
    const typed = fake.sendText(1001, GROUP, '/whoami');
    const answer = await fake.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, typed));
    expect(String(answer.body['text'])).toContain('You are alice');
    const forwardedAnswers = fake.calls.filter((c) => c.method === 'sendMessage' && (repliesTo(c, pause) || repliesTo(c, whoami)));
    expect(forwardedAnswers.map((c) => String(c.body['text']))).toEqual([]);
    expect(tg.stack.sim.hosts['xen1']?.commandLog.filter((c) => c.includes('pause'))).toEqual([]);
  });
});
