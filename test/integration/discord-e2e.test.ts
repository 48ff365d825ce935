import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import { type DcCall, FakeDiscord } from '../helpers/fake-discord/server.ts';
import { quietLogger } from '../helpers/sim.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-test-token';
const ALICE = '200000000000000001';
const BOB = '200000000000000002';
const CAROL = '200000000000000003';

let fake: FakeDiscord;
let stack: TestStack;

const desc = (c: DcCall) => JSON.stringify((c.body?.['embeds'] as unknown[] | undefined) ?? []);
const edits = (token: string) => (c: DcCall) => c.method === 'PATCH' && c.route.includes(`/${token}/messages/@original`);

beforeAll(async () => {
  fake = new FakeDiscord(TOKEN);
  await fake.start();
  stack = await startTestStack({
    env: { DISCORD_TOKEN: TOKEN, DISCORD_API_ROOT: fake.apiRoot },
    adjustConfig: (c) => ({ ...c, discord: { ...c.discord, guildIds: [fake.guildId], roleBindings: {} } }),
    makeAdapters: (config) => [new DiscordAdapter({ config, logger: quietLogger })],
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await fake?.stop();
});

describe('Discord adapter through the real discord.js client and a fake Discord', () => {
  it('logs in over the gateway and registers its slash commands per guild', async () => {
    const put = await fake.waitFor((c) => c.method === 'PUT' && c.route === `/applications/${fake.appId}/guilds/${fake.guildId}/commands`);
    const commands = put.body as unknown as {
      name: string;
      options: { name: string; autocomplete?: boolean }[];
      default_member_permissions: string | null;
    }[];
    expect(commands.map((c) => c.name)).toEqual(expect.arrayContaining(['list', 'start', 'stop', 'migrate']));
    expect(commands.find((c) => c.name === 'stop')?.options[0]).toMatchObject({ name: 'domain', autocomplete: true });
    expect(commands.find((c) => c.name === 'migrate')?.default_member_permissions).toBe('32');
  });

  it('/list from alice: defers, then edits the reply with the demo fleet', async () => {
    const { id, token } = fake.interact(ALICE, { id: '1', name: 'list', type: 1 });
    const defer = await fake.waitFor((c) => c.route === `/interactions/${id}/${token}/callback`);
    expect(defer.body).toMatchObject({ type: 5 });
    const done = await fake.waitFor((c) => edits(token)(c) && desc(c).includes('Domains on 2 hosts'));
    expect(desc(done)).toMatch(/xen1 +mail +- +defined \(not running\)/);
    expect(desc(done)).toMatch(/xen2 +files/);
    expect(done.at - defer.at).toBeGreaterThanOrEqual(0);
  });

  it('/start mail from bob: progress edits, then the result', async () => {
    const { token } = fake.interact(BOB, { id: '2', name: 'start', type: 1, options: [{ name: 'domain', type: 3, value: 'mail' }] });
    const done = await fake.waitFor((c) => edits(token)(c) && desc(c).includes('mail started on xen1'));
    expect(fake.calls.filter(edits(token)).length).toBeGreaterThanOrEqual(2);
    expect(desc(done)).toContain('read back from the host');
  });

  it('/stop from carol is refused ephemerally at once, naming the permission', async () => {
    const { id, token } = fake.interact(CAROL, { id: '3', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: 'web' }] });
    const reply = await fake.waitFor((c) => c.route === `/interactions/${id}/${token}/callback`);
    expect(reply.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(JSON.stringify(reply.body)).toContain('needs permission domain.stop');
    expect(stack.sim.hosts['xen1']?.commandLog.some((c) => c.includes('shutdown'))).toBe(false);
  });

  it('answers autocomplete from memory with only what the asker may act on', async () => {
    await expect.poll(() => stack.bot.fleet.coldHosts().length).toBe(0);
    const { id, token } = fake.interact(
      ALICE,
      { id: '4', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: 'we', focused: true }] },
      4,
    );
    const r = await fake.waitFor((c) => c.route === `/interactions/${id}/${token}/callback`);
    expect(r.body).toMatchObject({ type: 8 });
    const choices = (r.body?.['data'] as { choices: { value: string }[] } | undefined)?.choices.map((c) => c.value);
    expect(choices).toEqual(['web']);
    const carol = fake.interact(
      CAROL,
      { id: '4', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: '', focused: true }] },
      4,
    );
    const none = await fake.waitFor((c) => c.route === `/interactions/${carol.id}/${carol.token}/callback`);
    expect((none.body?.['data'] as { choices: unknown[] } | undefined)?.choices).toEqual([]);
  });

  it('sends a long console snapshot as a file attachment', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `[${i}] kernel: line`);
    stack.sim.fleet.host('xen1').files.set('/var/log/xen/console/guest-web.log', `${lines.join('\n')}\n`);
    const { token } = fake.interact(ALICE, {
      id: '5',
      name: 'console',
      type: 1,
      options: [
        { name: 'domain', type: 3, value: 'web' },
        { name: 'lines', type: 4, value: 400 },
      ],
    });
    const done = await fake.waitFor((c) => edits(token)(c) && c.files.length > 0);
    expect(done.files[0]?.name).toBe('web-console.txt');
    expect(done.files[0]?.data.toString().trimEnd().split('\n')).toHaveLength(400);
  });
});

describe('a job that outlives the interaction token', () => {
  it('finishes as a normal channel message', async () => {
    const adapter = stack.adapters[0] as DiscordAdapter;
    const target = {
      platform: 'discord' as const,
      channelId: fake.channelId,
      requestId: 'late',
      state: { appId: fake.appId, token: 'expired-token', expiresAt: Date.now() - 1, channelId: fake.channelId },
    };
    const next = await adapter.deliver(target, { kind: 'result', tone: 'success', title: 'late result', blocks: [] });
    const posted = await fake.waitFor(
      (c) => c.method === 'POST' && c.route === `/channels/${fake.channelId}/messages` && desc(c).includes('late result'),
    );
    expect(posted).toBeDefined();
    expect(fake.calls.some((c) => c.route.includes('expired-token'))).toBe(false);
    expect(next.state['messageId']).toEqual(expect.any(String));
  });
});

describe('buttons', () => {
  it('a click comes back as a request of the clicker, authorized again', async () => {
    const actionId = await stack.bot.createAction('stop', { domain: 'gateway' });
    const carol = fake.interact(CAROL, { custom_id: actionId, component_type: 2 }, 3);
    const update = await fake.waitFor((c) => c.route === `/interactions/${carol.id}/${carol.token}/callback`);
    expect(update.body).toMatchObject({ type: 6 });
    const denied = await fake.waitFor((c) => c.route === `/webhooks/${fake.appId}/${carol.token}` && c.method === 'POST');
    expect(JSON.stringify(denied.body)).toContain('needs permission domain.stop');
    expect(stack.sim.hosts['xen1']?.commandLog.some((c) => c.includes('gateway'))).toBe(false);
    // the message holding the button is not deleted for a denial
    expect(fake.calls.some((c) => c.method === 'DELETE' && c.route.includes(carol.token))).toBe(false);
    const alice = fake.interact(ALICE, { custom_id: actionId, component_type: 2 }, 3);
    // stop needs an on-call approval in the demo: the click by alice becomes her approval request.
    await fake.waitFor((c) => edits(alice.token)(c) && JSON.stringify(c.body).includes('Approval needed: /stop xen1:gateway'));
  });

  it('an unknown button id is answered as expired', async () => {
    const click = fake.interact(ALICE, { custom_id: 'nope', component_type: 2 }, 3);
    const r = await fake.waitFor((c) => c.route === `/webhooks/${fake.appId}/${click.token}` && c.method === 'POST');
    expect(JSON.stringify(r.body)).toContain('This button has expired');
  });
});
