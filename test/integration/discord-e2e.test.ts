import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import { renderHostChart } from '../../src/app/charts.ts';
import type { Reply } from '../../src/core/reply.ts';
import type { HistoryPoint } from '../../src/core/samples.ts';
import { type DcCall, FakeDiscord } from '../helpers/fake-discord/server.ts';
import { PNG_HEAD } from '../helpers/recorder.ts';
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

  it('/stop from carol is refused ephemerally at once, naming the permission; counted and audited as any refusal', async () => {
    const { id, token } = fake.interact(CAROL, { id: '3', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: 'web' }] });
    const reply = await fake.waitFor((c) => c.route === `/interactions/${id}/${token}/callback`);
    expect(reply.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(JSON.stringify(reply.body)).toContain('needs permission domain.stop');
    expect(stack.sim.hosts['xen1']?.commandLog.some((c) => c.includes('shutdown'))).toBe(false);
    // Answered by the adapter (precheck), it never reached the request handler: on record all the same.
    const audited = () =>
      (existsSync(stack.auditFile) ? readFileSync(stack.auditFile, 'utf8') : '')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((e) => e['userId'] === CAROL && e['command'] === 'stop')
        .map((e) => `${String(e['event'])}:${String(e['decision'])}`);
    await expect.poll(audited, { timeout: 5_000 }).toEqual(['decision:rejected']);
    expect(await stack.bot.metrics.registry.metrics()).toContain('xenops_commands_total{command="stop",outcome="refused"} 1');
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

describe('a defer Discord took but whose answer was lost (a 502 from its edge; the retry is told 40060)', () => {
  const callback = (id: string, token: string) => (c: DcCall) => c.route === `/interactions/${id}/${token}/callback`;

  it('/whoami is still run and answered in the deferred reply', async () => {
    fake.loseNextCallbackAnswer();
    const { id, token } = fake.interact(ALICE, { id: '1', name: 'whoami', type: 1 });
    const answered = await fake.waitFor((c) => edits(token)(c) && desc(c).includes('You are alice'));
    // The defer went twice: taken the first time, refused as already acknowledged the second.
    expect(fake.calls.filter(callback(id, token)).map((c) => c.body?.['type'])).toEqual([5, 5]);
    expect(answered).toBeDefined();
  });

  it('a button click is still run and answered', async () => {
    fake.loseNextCallbackAnswer();
    const click = fake.interact(ALICE, { custom_id: 'nope', component_type: 2 }, 3);
    const r = await fake.waitFor((c) => c.route === `/webhooks/${fake.appId}/${click.token}` && c.method === 'POST');
    expect(JSON.stringify(r.body)).toContain('This button has expired');
    expect(fake.calls.filter(callback(click.id, click.token)).map((c) => c.body?.['type'])).toEqual([6, 6]);
  });

  it('an interaction the gateway delivers again (defer refused 40060) is answered again in the same reply', async () => {
    const { id, token } = fake.interact(ALICE, { id: '1', name: 'whoami', type: 1 });
    const answers = () => fake.calls.filter((c) => edits(token)(c) && desc(c).includes('You are alice')).length;
    await expect.poll(answers).toBe(1);
    const messages = fake.messages.size;
    fake.redeliver(id);
    // A read asked again is answered again (a change is acted on once per request id: the core's redelivery tests).
    await expect.poll(answers).toBe(2);
    expect(fake.calls.filter(callback(id, token))).toHaveLength(2);
    expect(fake.messages.size).toBe(messages);
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

  it('for a message someone deleted meanwhile, posts the result anew, and later edits go to the new message', async () => {
    const adapter = stack.adapters[0] as DiscordAdapter;
    const queued = await adapter.post(fake.channelId, { kind: 'progress', tone: 'progress', title: 'queued on xen1', blocks: [] });
    const messageId = String(queued.state['messageId']);
    // A moderator deletes the bot's message while the job runs.
    fake.messages.delete(messageId);
    const target = { ...queued, state: { appId: fake.appId, token: 'expired-token', expiresAt: 1, channelId: fake.channelId, messageId } };
    const next = await adapter.deliver(target, { kind: 'result', tone: 'success', title: 'web moved to xen2', blocks: [] });
    const posted = String(next.state['messageId']);
    expect(posted).not.toBe(messageId);
    expect(JSON.stringify(fake.messages.get(posted)?.embeds)).toContain('web moved to xen2');
    await adapter.deliver(next, { kind: 'result', tone: 'success', title: 'web moved to xen2 (verified)', blocks: [] });
    expect(JSON.stringify(fake.messages.get(posted)?.embeds)).toContain('(verified)');
  });

  it('for a deferred reply someone deleted while the token still works, posts the result to the channel', async () => {
    const adapter = stack.adapters[0] as DiscordAdapter;
    const { token } = fake.interact(ALICE, { id: '1', name: 'whoami', type: 1 });
    await fake.waitFor((c) => edits(token)(c) && desc(c).includes('You are alice'));
    const live = {
      platform: 'discord' as const,
      channelId: fake.channelId,
      requestId: 'deleted-live',
      state: { appId: fake.appId, token, expiresAt: Date.now() + 60_000, channelId: fake.channelId },
    };
    const shown = await adapter.deliver(live, { kind: 'progress', tone: 'progress', title: 'running', blocks: [] });
    const original = String(shown.state['messageId']);
    fake.messages.delete(original);
    const next = await adapter.deliver(shown, { kind: 'result', tone: 'success', title: 'done after the delete', blocks: [] });
    const posted = String(next.state['messageId']);
    expect(posted).not.toBe(original);
    expect(JSON.stringify(fake.messages.get(posted)?.embeds)).toContain('done after the delete');
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

describe('image attachments (charts)', () => {
  const T0 = Date.UTC(2026, 7, 1, 12, 0);
  const points = (n: number): HistoryPoint[] =>
    Array.from({ length: n }, (_, i) => ({
      at: T0 + i * 60_000,
      domains: {
        web: {
          cpuAvg: 20 + (i % 10),
          cpuMax: 40,
          memoryKiB: 2_097_152,
          cpuSeconds: i,
          netTxKiBps: null,
          netRxKiBps: null,
          vbdRdPerSec: null,
          vbdWrPerSec: null,
        },
      },
    }));
  const chartReply = (title: string, ...pngs: { name: string; data: Uint8Array }[]): Reply => ({
    kind: 'result',
    tone: 'info',
    title,
    blocks: [{ type: 'text', text: 'web  ▃▄▅  cpu 25.0% now / 40.0% peak, mem 2048 MiB' }],
    attachments: pngs.map((p) => ({ ...p, contentType: 'image/png', description: `${title} chart` })),
  });
  let first: Uint8Array;
  let second: Uint8Array;

  beforeAll(async () => {
    first = await renderHostChart('xen1', points(60), { width: 480, height: 300 });
    second = await renderHostChart('xen1', points(30), { width: 400, height: 260 });
    expect(second.byteLength).not.toBe(first.byteLength);
  }, 30_000);

  it('pins a posted message (an edit schedule keeps its post pinned), through PUT /channels/:id/pins/:message', async () => {
    const adapter = stack.adapters[0] as DiscordAdapter;
    const target = await adapter.post(fake.channelId, chartReply('pinned board'));
    const messageId = String(target.state['messageId']);
    expect(fake.pins.has(messageId)).toBe(false);
    await adapter.pin(target);
    expect(fake.pins.has(messageId)).toBe(true);
  });

  it('a posted chart goes up as a PNG file and is the embed image; an edit replaces it instead of adding one', async () => {
    const adapter = stack.adapters[0] as DiscordAdapter;
    const target = await adapter.post(fake.channelId, chartReply('xen1 last hour', { name: 'xen1-cpu.png', data: first }));
    const messageId = String(target.state['messageId']);
    const posted = await fake.waitFor(
      (c) => c.method === 'POST' && c.route === `/channels/${fake.channelId}/messages` && desc(c).includes('xen1 last hour'),
    );
    expect(posted.files).toHaveLength(1);
    expect(posted.files[0]).toMatchObject({ name: 'xen1-cpu.png', contentType: 'image/png', size: first.byteLength });
    expect(posted.files[0]?.head.startsWith(PNG_HEAD)).toBe(true);
    expect((posted.body?.['embeds'] as { image?: { url: string } }[] | undefined)?.[0]?.image).toEqual({
      url: 'attachment://xen1-cpu.png',
    });
    expect(fake.embedImage(messageId)).toMatchObject({
      filename: 'xen1-cpu.png',
      size: first.byteLength,
      description: 'xen1 last hour chart',
    });

    // The next update of the same message (a redrawn chart) edits it: still one file, the new one, in the embed.
    await adapter.deliver(target, chartReply('xen1 last hour (updated)', { name: 'xen1-cpu.png', data: second }));
    const edited = await fake.waitFor((c) => c.method === 'PATCH' && c.route === `/channels/${fake.channelId}/messages/${messageId}`);
    expect(edited.files.map((f) => f.size)).toEqual([second.byteLength]);
    const shown = fake.messages.get(messageId);
    expect(shown?.attachments.map((a) => [a.filename, a.size])).toEqual([['xen1-cpu.png', second.byteLength]]);
    expect(fake.embedImage(messageId)?.size).toBe(second.byteLength);
  });

  it('only the first image is the embed image; the others go as plain files', async () => {
    const adapter = stack.adapters[0] as DiscordAdapter;
    const target = await adapter.post(
      fake.channelId,
      chartReply('two charts', { name: 'xen1 cpu.png', data: first }, { name: 'xen2-cpu.png', data: second }),
    );
    const messageId = String(target.state['messageId']);
    // A space would become "_" on Discord's side, so the adapter names the file that way itself.
    expect(fake.messages.get(messageId)?.attachments.map((a) => a.filename)).toEqual(['xen1_cpu.png', 'xen2-cpu.png']);
    expect(fake.embedImage(messageId)).toMatchObject({ filename: 'xen1_cpu.png', size: first.byteLength });
  });

  it('a chart delivered through the interaction token (@original) is replaced on the next edit, not duplicated', async () => {
    const adapter = stack.adapters[0] as DiscordAdapter;
    const { token } = fake.interact(ALICE, { id: '6', name: 'whoami', type: 1 });
    await fake.waitFor((c) => edits(token)(c) && desc(c).includes('alice'));
    const live = {
      platform: 'discord' as const,
      channelId: fake.channelId,
      requestId: 'chart-live',
      state: { appId: fake.appId, token, expiresAt: Date.now() + 60_000, channelId: fake.channelId },
    };
    const next = await adapter.deliver(live, { ...chartReply('chart 1', { name: 'xen1-cpu.png', data: first }), kind: 'progress' });
    const messageId = String(next.state['messageId']);
    expect(fake.embedImage(messageId)?.size).toBe(first.byteLength);
    await adapter.deliver(next, chartReply('chart 2', { name: 'xen1-cpu.png', data: second }));
    const patches = fake.calls.filter((c) => edits(token)(c) && c.files.length > 0);
    expect(patches.map((c) => c.files.map((f) => f.size))).toEqual([[first.byteLength], [second.byteLength]]);
    expect(fake.messages.get(messageId)?.attachments).toHaveLength(1);
    expect(fake.embedImage(messageId)).toMatchObject({ size: second.byteLength, contentType: 'image/png' });
    expect(fake.embedImage(messageId)?.head.startsWith(PNG_HEAD)).toBe(true);

    // A later reply without a chart takes the file away with the image.
    await adapter.deliver(next, { kind: 'result', tone: 'info', title: 'no chart now', blocks: [] });
    expect(fake.messages.get(messageId)?.attachments).toEqual([]);
    expect(fake.embedImage(messageId)).toBeNull();
  });
});
