import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalStore } from '../../src/app/approvals.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { type Conversation, conversation, startTerminalStack, type TerminalStack, type TestStack } from '../helpers/stack.ts';

/**
 * The two-person rule in the terminal demo (alice admin, bob operator and on call, carol viewer, dave operator on
 * xen2 only), typed one line at a time as a person would, answering on what the hosts really received.
 */
let t: TerminalStack;
let stack: TestStack;
let chat: Conversation;
const say = (line: string) => chat.say(line);
const printed = (re: RegExp, from = 0) => chat.printed(re, from);

const sent = (host: string, re: RegExp) => (stack.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c)).length;
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

beforeAll(async () => {
  t = await startTerminalStack();
  chat = conversation(t);
  stack = t.stack;
  await say('/list');
}, 60_000);

afterAll(async () => {
  t.input.end();
  await stack?.stop();
});

describe('on-call approvals in the terminal demo', () => {
  it('alice asks; she and carol cannot approve; bob approves; web stops once; a replay approves nothing more', async () => {
    const asked = await say(`@alice /stop web --reason "kernel upgrade"`);
    const id = idOf(asked);
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    expect(asked).toContain('xen1$ timeout 30 xl shutdown -w web');
    expect(asked).toContain('reason: kernel upgrade');
    expect(asked).toMatch(/web on xen1: (running|blocked), id \d+, 2048 MiB, uuid [0-9a-f-]{36}/);
    expect(asked).toContain(`/approve ${id}   or   /deny ${id} [reason]`);
    expect(sent('xen1', /\bshutdown\b/)).toBe(0);

    const own = await say(`@alice /approve ${id}`);
    expect(own).toContain('✖ Not allowed\nyou cannot approve your own request (on any platform): someone else must');
    const carol = await say(`@carol /approve ${id}`);
    expect(carol).toContain('✖ Not allowed\nonly the person on call (bob) or someone with approval.grant may approve this');
    expect(sent('xen1', /\bshutdown\b/)).toBe(0);

    const mark = t.output().length;
    await say(`@bob /approve ${id.toLowerCase()}`);
    await printed(new RegExp(`✔ Approved ${id}\\n/stop xen1:web is running; alice gets the result`), mark);
    await printed(/… \/stop xen1:web\napproved by bob; checking it can still run/, mark);
    await printed(/✔ web shut down on xen1/, mark);
    expect(sent('xen1', /\bshutdown\b/)).toBe(1);

    const again = await say(`@bob /approve ${id}`);
    expect(again).toContain(`ℹ ${id} was already approved\nby bob at `);
    expect(again).toContain('; it was queued once; the result goes to alice');
    const list = await say('/list xen1');
    expect(list).toMatch(/xen1\s+web\s+-\s+defined \(not running\)/);
    expect(sent('xen1', /\bshutdown\b/)).toBe(1);
  });

  it('an expired approval never runs', async () => {
    const id = idOf(await say('@alice /migrate gateway xen2'));
    // Its time runs out (changed through the store's own transaction, so nothing the desk records meanwhile — the
    // card's announcement — is overwritten).
    const redis = new Redis(REDIS_URL);
    const store = new ApprovalStore(redis, stack.prefix);
    await expect.poll(async () => (await store.get(id))?.announcements.length, { timeout: 10_000 }).toBe(1);
    // A minute ago: the desk reads Redis's clock, which may be a ms or two from this process's.
    await store.update(id, (r) => ({ ...r, expiresAt: Date.now() - 60_000 }));
    redis.disconnect();
    const mark = t.output().length;
    await say(`@bob /approve ${id}`);
    // The request's messages say it expired, and so does the answer to bob.
    await printed(
      new RegExp(`✖ Approval ${id} expired\\n/migrate xen1:gateway to xen2 was not approved by \\d\\d:\\d\\d UTC; nothing ran`),
      mark,
    );
    await printed(new RegExp(`✖ ${id} expired\\nit expired at \\d\\d:\\d\\d UTC; nothing ran`), mark);
    expect(sent('xen1', /\bmigrate\b/)).toBe(0);
  });

  it('a domain restarted between request and approval is not touched: the agent refuses, naming the change', async () => {
    const id = idOf(await say('@alice /stop gateway'));
    // Someone restarts gateway outside xenops: same guest, new domid.
    const host = stack.sim.fleet.host('xen1');
    const gw = stack.sim.fleet.findDomain(host, 'gateway');
    if (!gw) throw new Error('no gateway');
    stack.sim.fleet.removeDomain(host, gw);
    stack.sim.fleet.addDomain(host, { name: 'gateway', memoryMiB: gw.memoryMiB, vcpus: gw.vcpus, flags: '-b----' });
    const mark = t.output().length;
    await say(`@bob /approve ${id}`);
    const result = await printed(/✖ Could not stop [^\n]*\n[^\n]*/, mark);
    expect(result).toMatch(/gateway was restarted \(id \d+ → \d+\) since approval [A-Z2-9]{6} was asked for: nothing was done/);
    expect(sent('xen1', /\b(shutdown|destroy)\b.*gateway/)).toBe(0);
  });

  it('an approver out of scope cannot approve, even on call; a denial tells the requester and nothing runs', async () => {
    const id = idOf(await say('@alice /stop xen1:gateway --force'));
    expect((await say('@alice /oncall set dave 2h')).split('\n').some((l) => /^✔/.test(l))).toBe(true);
    const dave = await say(`@dave /approve ${id}`);
    expect(dave).toContain('✖ Not allowed\ndave may not run /stop on xen1, so may not approve it there');
    const mark = t.output().length;
    await say(`@alice /deny ${id} changed my mind`);
    await printed(new RegExp(`ℹ Withdrawn ${id}\\nnothing ran`), mark);
    await printed(/✖ \/stop xen1:gateway --force was withdrawn by alice: changed my mind\nnothing ran/, mark);
    expect(sent('xen1', /\bdestroy\b/)).toBe(0);
  });

  it('approved, but refused as it was about to run (host frozen meanwhile): a replayed /approve says it did not run', async () => {
    const id = idOf(await say('@bob /stop xen1:gateway --reason "new firewall"'));
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    expect(await say('@alice /freeze xen1 1h storage work')).toMatch(/Frozen: xen1/);
    const mark = t.output().length;
    await say(`@alice /approve ${id}`);
    await printed(/was approved but did not run\nxen1 is frozen/, mark);
    const again = await say(`@alice /approve ${id}`);
    expect(again).toMatch(new RegExp(`✖ ${id} was approved but did not run\\nby alice at \\d\\d:\\d\\d UTC: xen1 is frozen until`));
    expect(again).not.toContain('queued once');
    expect(await say('@alice /unfreeze xen1')).toContain('Unfrozen: xen1');
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bgateway\b/)).toBe(0);
  });

  it('a frozen host refuses mutations (before any approval is asked) but not reads; /status shows it; /unfreeze lifts it', async () => {
    expect(await say('@alice /freeze xen2 2h storage work')).toMatch(
      /⚠ Frozen: xen2\nxen2 is frozen until \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC \(alice: storage work\)/,
    );
    expect(await say('@bob /freeze xen1 because')).toContain('✖ Not allowed\nbob may not run /freeze: needs permission host.freeze');
    const refused = await say('@alice /stop files');
    expect(refused).toMatch(/✖ Frozen\nxen2 is frozen until [^\n]+ \(alice: storage work\) — reads go on/);
    expect(refused).not.toContain('Approval needed');
    expect(await say('/list xen2')).toMatch(/xen2\s+files\s+\d+/);
    const status = await say('/status');
    expect(status).toContain('❄ xen2 is frozen until');
    // Each host's agent and when it was last seen (#8).
    expect(status).toMatch(/xen1\s+up \(xl [^)]*\)\s+.*\d+@\S+, seen \d+ s ago/);
    expect(await say('@alice /unfreeze xen2')).toContain('✔ Unfrozen: xen2\nmutating commands may run on xen2 again');
    expect(await say('@alice /stop files')).toContain('Approval needed: /stop xen2:files');
    expect(sent('xen2', /\b(shutdown|destroy)\b/)).toBe(0);
  });
});
