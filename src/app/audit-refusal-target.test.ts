import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conversation, conversation, startTerminalStack, type TerminalStack } from '../../test/helpers/stack.ts';

/**
 * A refused request is recorded about what the refusal was about, whatever the bot's fleet view held when it came:
 * refused before its guest was looked up, the guest as typed and no host (the view may not know where it runs yet);
 * refused on a host, that host — never the hosts the view happens to know the name on.
 */
let t: TerminalStack;
let chat: Conversation;
beforeAll(async () => {
  // No /list first: the bot's fleet view is cold, as after a restart.
  t = await startTerminalStack();
  chat = conversation(t);
}, 60_000);
afterAll(async () => {
  t.input.end();
  await t.stack.stop();
});

type Entry = Record<string, unknown>;
const entries = (): Entry[] =>
  readFileSync(t.stack.auditFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Entry);
const refusals = (person: string) =>
  entries().filter((e) => e['person'] === person && e['decision'] === 'rejected' && e['command'] === 'stop');
const about = (e: Entry | undefined) => ({ host: e?.['host'], domain: e?.['domain'] });

describe('the target a refused request is recorded with', () => {
  it('is the same before and after the fleet view knows where the guest runs', async () => {
    expect(await chat.say('@carol /stop web')).toContain('Not allowed');
    await expect.poll(() => refusals('carol').length).toBe(1);
    expect(about(refusals('carol')[0])).toEqual({ host: undefined, domain: 'web' });

    await chat.say('/list');
    expect(await chat.say('@carol /stop web')).toContain('Not allowed');
    await expect.poll(() => refusals('carol').length).toBe(2);
    expect(about(refusals('carol')[1])).toEqual({ host: undefined, domain: 'web' });

    // Both found by the guest; neither by a host the refusal never named.
    const byDomain = await chat.say('/audit domain:web person:carol command:stop');
    expect(byDomain).toContain('Last 2 audit entries matching person:carol domain:web command:stop');
    expect(await chat.say('/audit host:xen1 person:carol')).toContain('No audit entries match person:carol host:xen1');
  });

  it('is the host the refusal was about for one scoped to another host', async () => {
    expect(await chat.say('@dave /stop web')).toContain('no domain named web on xen2');
    await expect.poll(() => refusals('dave').length).toBe(1);
    expect(about(refusals('dave')[0])).toEqual({ host: 'xen2', domain: 'web' });
    expect(await chat.say('/audit host:xen1 person:dave')).toContain('No audit entries match person:dave host:xen1');
  });

  it('is the resolved target for a refusal made once the guest was found', async () => {
    // web is found on xen1, then refused there: xen1 is frozen.
    expect(await chat.say('/freeze xen1 1h maintenance')).toContain('Frozen');
    expect(await chat.say('@alice /stop web')).toContain('Frozen');
    await expect.poll(() => refusals('alice').length).toBe(1);
    expect(about(refusals('alice')[0])).toEqual({ host: 'xen1', domain: 'web' });
    // Its request, then its refusal.
    const found = await chat.say('/audit host:xen1 person:alice command:stop');
    expect(found).toContain('Last 2 audit entries matching person:alice host:xen1 command:stop');
    expect(found).toMatch(/decision +alice +stop +xen1:web .*Frozen/);
    await chat.say('/unfreeze xen1');
  });
});
