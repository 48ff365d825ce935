import { describe, expect, it } from 'vitest';
import { demoChat } from '../test/helpers/stack.ts';

/**
 * `/schedule add status every 1m channel:discord:123` was added as the terminal channel "discord:123" (shown
 * `terminal:discord:123`, its posts going nowhere anyone reads): a schedule posts on the platform it is added on, and
 * a channel id naming a platform is refused with the id as it goes. /help said the id of remove was optional; it is not.
 */
const chat = demoChat();

describe('/schedule add with a channel: that names a platform', () => {
  it.each([
    ['discord:123', '123'],
    ['telegram:-100123', '-100123'],
    ['terminal:ops', 'ops'],
    ['Discord:123', '123'],
  ])('channel:%s is refused, and nothing is added', async (channel, id) => {
    const said = await chat.say(`/schedule add status every 1m channel:${channel}`);
    expect(said).toContain('✖ Bad arguments for /schedule\n');
    expect(said).toContain(
      `channel:${channel} names a platform: a schedule posts on the platform it is added on, so give the channel's id alone (channel:${id})`,
    );
    expect(said).not.toContain('✔ Schedule');
    expect(await chat.say('/schedule list')).not.toContain(channel);
  });

  it('a channel id alone is still taken, on the platform typed on', async () => {
    const said = await chat.say('/schedule add status every 1m channel:ops');
    expect(said).toContain('in terminal:ops');
    const id = /Schedule (S[A-Z0-9]{5}) added/.exec(said)?.[1];
    expect(id).toBeDefined();
    await chat.say(`/schedule remove ${id}`);
  });
});

describe('/help schedule', () => {
  it('does not call the id of remove optional: remove needs it', async () => {
    const said = await chat.say('/help schedule');
    const line = said.split('\n').find((l) => l.startsWith('<spec>')) ?? '';
    expect(line).toContain('remove: the id, needed');
    expect(line).not.toMatch(/the id \(optional\)/);
    expect(await chat.say('/schedule remove')).toContain('which schedule? give its id');
  });
});
