import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DcCall, FakeDiscord } from '../../../test/helpers/fake-discord/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { Config } from '../../config/schema.ts';
import { type Reply, reply } from '../../core/reply.ts';
import { DeliveryFailure, deliveryFailureKind } from '../delivery-failure.ts';
import type { BotCore, ReplyTarget } from '../types.ts';
import { DiscordAdapter } from './index.ts';

/**
 * What a result meets on its way to Discord after the work is done: a 5xx whose request Discord carried out, a
 * connection cut mid-request, a 401, a 429. Through the real discord.js client and @discordjs/rest against the fake
 * Discord; the bot core is a recorder of the targets the adapter hands it (our own interface).
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.delivery-faults';
const ALICE = '200000000000000001';
const BOB = '200000000000000002';

let fake: FakeDiscord;
let adapter: DiscordAdapter;
const handled: ((t: ReplyTarget) => void)[] = [];

const core: BotCore = {
  commandSpecs: () => [],
  precheck: () => null,
  handle: async (_req, target) => {
    handled.shift()?.(target);
  },
  autocomplete: () => [],
  handleAction: async () => {},
};

beforeAll(async () => {
  fake = new FakeDiscord(TOKEN);
  await fake.start();
  const config = Config.parse({
    hosts: { xen1: { address: 'a', privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true } },
    roles: { admin: { allow: ['*'] } },
    people: { alice: { roles: ['admin'], identities: { discord: ALICE } }, bob: { roles: ['admin'], identities: { discord: BOB } } },
    channels: [{ platform: 'discord', id: '*' }],
    discord: { token: TOKEN, apiRoot: fake.apiRoot },
  });
  adapter = new DiscordAdapter({ config, logger: quietLogger });
  await adapter.start(core);
}, 30_000);

afterAll(async () => {
  await adapter?.stop();
  await fake?.stop();
});

/** alice runs a slash command: the target the adapter made for it (its reply deferred, "thinking…" shown). */
async function ask(): Promise<{ token: string; target: ReplyTarget }> {
  const target = new Promise<ReplyTarget>((resolve) => handled.push(resolve));
  const { token } = fake.interact(ALICE, { id: '1', name: 'status', type: 1, options: [] });
  return { token, target: await target };
}

/** The target of a request whose interaction token is past its 15 minutes: its result goes to the channel. */
async function askLongAgo(): Promise<ReplyTarget> {
  const { token, target } = await ask();
  fake.expireToken(token);
  return { ...target, state: { ...target.state, expiresAt: 0 } };
}

let n = 0;
/** A result with a title no other test uses. */
const result = (extra: Partial<Reply> = {}): Reply => ({ ...reply.result(`result ${++n}`, [reply.text('all done')]), ...extra });

/** Messages the channel shows with this title. */
const showing = (title: string) =>
  [...fake.messages.values()].filter((m) => m.channelId === fake.channelId && JSON.stringify(m.embeds).includes(`"title":"${title}"`));

const channelPost = (title: string) => (c: DcCall) =>
  c.method === 'POST' && c.route === `/channels/${fake.channelId}/messages` && JSON.stringify(c.body?.['embeds']).includes(title);
const originalEdit = (token: string) => (c: DcCall) => c.method === 'PATCH' && c.route.endsWith(`/${token}/messages/@original`);

describe('a result whose request to Discord fails', () => {
  it('the edit of the deferred reply answered 500 after Discord applied it: the result is not posted to the channel as well', async () => {
    const { token, target } = await ask();
    const r = result();
    for (let i = 0; i < 4; i++) fake.failNext(originalEdit(token), { status: 500, applied: true });
    const error = await adapter.deliver(target, r).then(
      () => null,
      (e: unknown) => e,
    );
    expect(showing(r.title)).toHaveLength(1);
    // Tried again later by the relay: an edit changes nothing the second time.
    expect(error).not.toBeNull();
    expect(error).toBeInstanceOf(DeliveryFailure);
    expect(deliveryFailureKind(error)).toBe('retry');
    await adapter.deliver(target, r);
    expect(showing(r.title)).toHaveLength(1);
  }, 30_000);

  it('a private answer whose ephemeral follow-up got no answer after Discord posted it: not sent as a direct message too', async () => {
    const { token, target } = await ask();
    const r = reply.error(`refused ${++n}`, 'not for you');
    const followUp = (c: DcCall) => c.method === 'POST' && c.route === `/webhooks/${fake.appId}/${token}`;
    for (let i = 0; i < 4; i++) fake.failNext(followUp, { status: 503, applied: i === 0 });
    const error = await adapter.deliver(target, { ...r, private: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(fake.directMessages(ALICE).filter((m) => JSON.stringify(m.embeds).includes(r.title))).toEqual([]);
    expect(deliveryFailureKind(error)).toBe('maybe-delivered');
  }, 30_000);

  it('a channel post answered 500 after Discord created it: posted once, not once per retry', async () => {
    const target = await askLongAgo();
    const r = result();
    fake.failNext(channelPost(r.title), { status: 500, applied: true });
    await adapter.deliver(target, r);
    expect(fake.calls.filter(channelPost(r.title)).length).toBeGreaterThan(1);
    expect(showing(r.title)).toHaveLength(1);
  }, 30_000);

  it('a channel post whose connection is cut after Discord created it: posted once', async () => {
    const target = await askLongAgo();
    const r = result();
    fake.failNext(channelPost(r.title), { drop: true, applied: true });
    const error = await adapter.deliver(target, r).then(
      () => null,
      (e: unknown) => e,
    );
    expect(showing(r.title)).toHaveLength(1);
    // Sent again by the relay, it would show twice.
    expect(deliveryFailureKind(error)).toBe('maybe-delivered');
  }, 30_000);

  it('a channel post that fails on every try after Discord may have created it: marked so the relay does not post it again', async () => {
    const target = await askLongAgo();
    const r = result();
    for (let i = 0; i < 4; i++) fake.failNext(channelPost(r.title), { status: 502, applied: i === 0 });
    const error = await adapter.deliver(target, r).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).not.toBeNull();
    expect(deliveryFailureKind(error)).toBe('maybe-delivered');
    expect(showing(r.title)).toHaveLength(1);
  }, 30_000);

  it('the bot token refused (401) on a channel post: not taken for a refusal of the reply, and sent once Discord takes the token again', async () => {
    const target = await askLongAgo();
    const r = result();
    fake.failNext(channelPost(r.title), { status: 401, message: '401: Unauthorized' });
    const error = await adapter.deliver(target, r).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).not.toBeNull();
    expect(deliveryFailureKind(error)).toBe('retry');
    expect(String(error)).toMatch(/discord refused the bot token/);
    await adapter.deliver(target, r);
    expect(showing(r.title)).toHaveLength(1);
  }, 30_000);

  it('a channel post Discord refuses (400 Invalid Form Body): classified refused, not to be sent again', async () => {
    const target = await askLongAgo();
    const r = result();
    fake.failNext(channelPost(r.title), { status: 400, code: 50035, message: 'Invalid Form Body' });
    const error = await adapter.deliver(target, r).then(
      () => null,
      (e: unknown) => e,
    );
    expect(deliveryFailureKind(error)).toBe('refused');
    expect(showing(r.title)).toHaveLength(0);
  }, 30_000);

  it('the final edit rate limited (429): waited out, the deferred reply shows it, nothing goes to the channel', async () => {
    const { token, target } = await ask();
    const r = result();
    fake.failNext(originalEdit(token), { status: 429, retryAfter: 0.3 });
    await adapter.deliver(target, r);
    expect(fake.calls.filter(originalEdit(token)).map((c) => c.failedWith ?? 200)).toEqual([429, 200]);
    expect(showing(r.title)).toHaveLength(1);
  }, 30_000);

  it('a global 429 on the final edit: waited out too', async () => {
    const { token, target } = await ask();
    const r = result();
    fake.failNext(originalEdit(token), { status: 429, retryAfter: 0.3, global: true });
    await adapter.deliver(target, r);
    expect(showing(r.title)).toHaveLength(1);
  }, 30_000);

  it('pings that fail after the edit: the result is not posted again', async () => {
    const { token, target } = await ask();
    const r = result({ mentions: [{ person: 'bob', identities: [{ platform: 'discord', userId: BOB }] }] });
    const ping = (c: DcCall) => c.method === 'POST' && c.route === `/webhooks/${fake.appId}/${token}`;
    for (let i = 0; i < 4; i++) fake.failNext(ping, { status: 500 });
    await adapter.deliver(target, r);
    expect(showing(r.title)).toHaveLength(1);
  }, 30_000);
});
