import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conversation, conversation, startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * With `oncall.timezone` Europe/Berlin, an operator types a freeze's end in Berlin time (a date alone is its 00:00
 * there): the reply, a refusal and /status name the end in that zone first, the UTC instant beside it — "until
 * 2099-12-24 23:00 UTC" alone read as the day before.
 */
let t: TerminalStack;
let chat: Conversation;

beforeAll(async () => {
  t = await startTerminalStack((c) => ({ ...c, oncall: { timezone: 'Europe/Berlin', overrides: [] } }));
  chat = conversation(t);
}, 60_000);

afterAll(async () => {
  t.input.end();
  await t?.stack.stop();
});

const END = 'until Fri 25 Dec 2099 00:00 Europe/Berlin (2099-12-24 23:00 UTC)';

describe('a freeze in a deployment whose on-call zone is Europe/Berlin', () => {
  it('/freeze names the end in Berlin time, with the UTC instant beside it', async () => {
    const out = await chat.say('@alice /freeze xen2 2099-12-25 xmas');
    expect(out).toContain(`⚠ Frozen: xen2\nxen2 is frozen ${END} (alice: xmas) — reads go on`);
  });

  it('a mutating command on the frozen host is refused naming the end so', async () => {
    const refused = await chat.say('@alice /stop files');
    expect(refused).toContain(`✖ Frozen\nxen2 is frozen ${END} (alice: xmas) — reads go on`);
  });

  it("/status's frozen line names it so", async () => {
    expect(await chat.say('/status')).toContain(`❄ xen2 is frozen ${END} (alice: xmas)`);
  });
});
