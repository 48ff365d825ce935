import { describe, expect, it, vi } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import type { ApprovalDesk, ApprovalDeskDeps } from './approval-desk.ts';
import { Refusal } from './dispatch.ts';

// gina may grant approvals on xen9 only: never escalated to for a request on xen1.
const {
  store,
  person,
  makeDesk: sceneDesk,
  askStop: sceneAskStop,
} = approvalDeskScene({
  roles: { xen9admin: { allow: [{ permission: 'admin', hosts: ['xen9'] }] } },
  people: {
    erin: { roles: ['operator'], identities: { terminal: 'erin' } },
    frank: { roles: ['operator'], identities: { terminal: 'frank' } },
    gina: { roles: ['xen9admin'], identities: { terminal: 'gina' } },
  },
  approvals: { escalateMinutes: 5, channels: [{ platform: 'terminal', id: 'approvals' }] },
});

/** A desk as the bot wires it, on real Redis, erin next on call; what it delivers, audits and queues is kept. */
const makeDesk = (over: Partial<ApprovalDeskDeps> = {}, leads = true) => sceneDesk({ nextOnCall: async () => 'erin', ...over }, leads);

let counter = 0;

/** `requester` asks for /stop web (on call approves); resolves with the approval id. `system`: xenops asks for them. */
const askStop = (desk: ApprovalDesk, requester = 'alice', system = false) =>
  sceneAskStop(desk, `req-desk-${++counter}`, { requester, system });

describe('approval escalation', () => {
  it('unanswered, a request goes to the next on call after escalateMinutes, then to the admins; each step posted and audited', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { desk, delivered, audited, titles } = await makeDesk();
      const id = await askStop(desk, 'frank');
      // erin is not on call: refused before the escalation…
      expect((await desk.approve(id, person('erin'), 'terminal')).title).toBe('Not allowed');
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(() => expect(titles().some((t) => t.startsWith('Escalated to erin (next on call)'))).toBe(true));
      // The card calls on erin now (an edit notifies only the people it did not mention before), and says so.
      const card = delivered.find((d) => d.reply.title.startsWith('Escalated to erin'))?.reply;
      expect((card?.mentions ?? []).map((m) => m.person).sort()).toEqual(['bob', 'erin']);
      expect(JSON.stringify(card?.blocks)).toContain('on call: bob; escalated to erin (or approval.grant)');
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(() => expect(titles().some((t) => t.startsWith('Escalated to the admins (alice)'))).toBe(true));
      expect(audited.filter((e) => e.event === 'approval' && /escalated/.test(e.detail ?? '')).map((e) => e.detail)).toEqual([
        `${id} escalated to erin (next on call)`,
        `${id} escalated to the admins (alice)`,
      ]);
      // …and may approve after it.
      expect((await desk.approve(id, person('erin'), 'terminal')).title).toBe(`Approved ${id}`);
      desk.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('never escalates to the requester (who cannot approve): the step says nobody was added', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // frank is next on call and asks; alice, the only admin, asks in the second case.
      const { desk, audited } = await makeDesk({ nextOnCall: async () => 'frank' });
      const byFrank = await askStop(desk, 'frank');
      const byAlice = await askStop(desk, 'alice');
      await vi.advanceTimersByTimeAsync(10 * 60_000);
      await vi.waitFor(() => expect(audited.filter((e) => /escalated/.test(e.detail ?? ''))).toHaveLength(4));
      desk.stop();
      const said = audited.filter((e) => /escalated/.test(e.detail ?? '')).map((e) => e.detail);
      expect(said).toEqual(
        expect.arrayContaining([
          `${byFrank} escalated to nobody else is on call next`,
          `${byFrank} escalated to the admins (alice)`,
          `${byAlice} escalated to frank (next on call)`,
          `${byAlice} escalated to no admin other than the requester`,
        ]),
      );
      expect((await store.get(byFrank))?.escalatedTo).toEqual(['alice']);
      expect((await store.get(byAlice))?.escalatedTo).toEqual(['frank']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a next on call who may not approve it (out of scope there) is not escalated to, and the step says why', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // gina is next on call, but her rights are on xen9 only: her /approve of a stop on xen1 is refused.
      const { desk, delivered, audited } = await makeDesk({ nextOnCall: async () => 'gina' });
      const id = await askStop(desk, 'frank');
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(() => expect(audited.some((e) => e.detail?.startsWith(`${id} escalated`))).toBe(true));
      expect((await desk.approve(id, person('gina'), 'terminal')).title).toBe('Not allowed');
      desk.stop();
      const card = delivered.find((d) => d.reply.title.includes(`approval ${id} is still unanswered`))?.reply;
      expect(card?.title).toBe(
        `Not escalated (nobody: gina, next on call, may not approve /stop there): approval ${id} is still unanswered`,
      );
      expect((card?.mentions ?? []).map((m) => m.person)).toEqual(['bob']);
      expect(audited.find((e) => e.detail?.startsWith(`${id} escalated`))?.detail).toBe(
        `${id} escalated to nobody: gina, next on call, may not approve /stop there`,
      );
      expect((await store.get(id))?.escalatedTo).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('decided while its "still unanswered" cards are being posted, no card is left with Approve/Deny over the decision', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // The escalation's edit of the requester's card waits (a platform's rate limit: Telegram allows 20 a minute in
      // a group) until released; everything else is delivered at once.
      let release = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      let escalationWaiting = false;
      let escalationPosted = false;
      const { desk, delivered, enqueued } = await makeDesk({
        deliver: async (t, r) => {
          if (t.channelId === 'terminal' && r.title.startsWith('Escalated')) {
            escalationWaiting = true;
            await held;
            escalationPosted = true;
          }
          delivered.push({ channel: t.channelId, reply: r });
          return t;
        },
      });
      const id = await askStop(desk, 'frank');
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(() => expect(escalationWaiting).toBe(true));
      // bob approves meanwhile: the stop runs, every card is told.
      expect((await desk.approve(id, person('bob'), 'terminal')).title).toBe(`Approved ${id}`);
      release();
      await vi.waitFor(() => expect(escalationPosted).toBe(true));
      const last = (channel: string) => delivered.filter((d) => d.channel === channel).at(-1)?.reply;
      // The escalation goes on to put right the card it overwrote.
      await vi.waitFor(() => expect(last('terminal')?.kind).toBe('progress'));
      desk.stop();
      expect(enqueued).toHaveLength(1);
      expect(delivered.filter((d) => d.channel === 'approvals' && d.reply.title.startsWith('Escalated'))).toEqual([]);
      expect({ title: last('approvals')?.title, buttons: last('approvals')?.actions?.length ?? 0 }).toEqual({
        title: '/stop xen1:web approved by bob',
        buttons: 0,
      });
      expect(last('terminal')?.actions ?? []).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('two bots armed for the same steps (a takeover while the old timers ran) take each step once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const first = await makeDesk();
      const second = await makeDesk();
      const id = await askStop(first.desk, 'frank');
      await second.desk.start();
      const steps = () => [...first.audited, ...second.audited].filter((e) => e.detail?.startsWith(`${id} escalated`)).map((e) => e.detail);
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(async () => expect((await store.get(id))?.escalation).toBe(1));
      // Whichever lost the first step still takes part in the second.
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(async () => expect((await store.get(id))?.escalation).toBe(2));
      // The step is audited just after it is recorded, by the desk that took it.
      await vi.waitFor(() => expect(steps()).toHaveLength(2));
      first.desk.stop();
      second.desk.stop();
      // Each desk's entries are listed apart, and either may win either step: the order here says nothing.
      expect(steps().sort()).toEqual([`${id} escalated to erin (next on call)`, `${id} escalated to the admins (alice)`].sort());
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('refused decisions', () => {
  it('a refused /deny is on record as refused, as a refused /approve is; the request stays pending', async () => {
    const { desk, audited } = await makeDesk();
    try {
      const id = await askStop(desk);
      // frank is an operator, not on call: he may neither approve nor deny.
      expect((await desk.approve(id, person('frank'), 'terminal')).title).toBe('Not allowed');
      expect((await desk.deny(id, person('frank'), 'no')).title).toBe('Not allowed');
      const refusals = audited.filter((e) => e.decision === 'rejected').map((e) => e.detail);
      expect(refusals).toEqual([
        expect.stringMatching(`^approve ${id} by frank refused: `),
        expect.stringMatching(`^deny ${id} by frank refused: `),
      ]);
      expect((await store.get(id))?.status).toBe('pending');
    } finally {
      await desk.stop();
    }
  });
});

describe('approval timers after a restart or a takeover', () => {
  it('are armed by a bot that can post to the request’s card, not by one of another platform', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const before = await makeDesk({}, false);
      const id = await askStop(before.desk, 'frank');
      before.desk.stop(); // the bot that took it restarts
      // bot.ha off, a bot per platform: the Telegram bot starts first and leaves the terminal card's request alone…
      const telegram = await makeDesk({ platforms: new Set(['telegram']) });
      // …the terminal bot, restarted, takes it up: it expires on time, its card told.
      const terminal = await makeDesk();
      await vi.advanceTimersByTimeAsync(15 * 60_000);
      await vi.waitFor(async () => expect((await store.get(id))?.status).toBe('expired'));
      telegram.desk.stop();
      terminal.desk.stop();
      expect(terminal.titles()).toContain(`Approval ${id} expired`);
      expect(telegram.audited.filter((e) => e.detail?.startsWith(id))).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('approval timers when a term ends', () => {
  it('a bot that stops leading keeps the timers of the requests it took, and drops those it adopted', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const before = await makeDesk({}, false);
      const adoptedId = await askStop(before.desk, 'frank');
      before.desk.stop();
      const bot = await makeDesk(); // its term begins: it adopts frank's request
      const ownId = await askStop(bot.desk, 'alice'); // and takes one of its own (a terminal request; frank's is pending)
      bot.desk.release(); // its term ends (the lease lost in a Redis blip); it keeps running
      await vi.advanceTimersByTimeAsync(15 * 60_000);
      await vi.waitFor(async () => expect((await store.get(ownId))?.status).toBe('expired'));
      expect((await store.get(adoptedId))?.status).toBe('pending'); // the next leader's to time
      bot.desk.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('approval expiry', () => {
  it('an approval whose checks end after the expiry (who is on call is read from Redis first) does not run', async () => {
    let now = Date.now();
    const { desk, enqueued } = await makeDesk({
      now: () => now,
      onCall: async () => {
        now += 2_000;
        return ['bob'];
      },
    });
    const id = await askStop(desk);
    const rec = await store.get(id);
    if (!rec) throw new Error('no record');
    now = rec.expiresAt - 1_000;
    const answer = await desk.approve(id, person('bob'), 'terminal');
    desk.stop();
    expect({ title: answer.title, status: (await store.get(id))?.status, enqueued }).toEqual({
      title: `${id} expired`,
      status: 'expired',
      enqueued: [],
    });
  });

  it('at the very instant of its expiry it is expired, as the expiry timer counts it', async () => {
    let now = Date.now();
    const { desk, enqueued } = await makeDesk({ now: () => now });
    const id = await askStop(desk);
    now = (await store.get(id))?.expiresAt ?? 0;
    const answer = await desk.approve(id, person('bob'), 'terminal');
    desk.stop();
    expect({ title: answer.title, enqueued }).toEqual({ title: `${id} expired`, enqueued: [] });
  });
});

describe('an approved request that did not run', () => {
  it('is said so on every card (the approval channel had been told "running") and to a later /approve', async () => {
    const { desk, delivered } = await makeDesk({
      enqueue: async () => {
        throw new Refusal('No agent', 'no agent serves xen1 — last seen 3 min ago');
      },
    });
    const id = await askStop(desk);
    expect((await desk.approve(id, person('bob'), 'terminal')).title).toBe('Approved, but not run');
    const inChannel = delivered.filter((d) => d.channel === 'approvals').map((d) => d.reply.title);
    expect(inChannel.at(-1)).toBe('/stop xen1:web was approved but did not run');
    const again = await desk.approve(id, person('bob'), 'terminal');
    expect(again.title).toBe(`${id} was approved but did not run`);
    expect(JSON.stringify(again.blocks)).toMatch(/by bob at \d\d:\d\d UTC: no agent serves xen1 — last seen 3 min ago/);
    desk.stop();
  });

  it('refused as it was about to run (its host frozen meanwhile) is on record in the audit as not run', async () => {
    const { desk, audited } = await makeDesk({
      enqueue: async () => {
        throw new Refusal('Frozen', 'xen1 is frozen until 2030-01-01 00:00 UTC (alice: storage work)');
      },
    });
    const id = await askStop(desk);
    expect((await desk.approve(id, person('bob'), 'terminal')).title).toBe('Approved, but not run');
    desk.stop();
    const about = audited.filter((e) => e.event === 'approval').map((e) => `${e.decision}: ${e.detail}`);
    expect(about.filter((a) => a.includes('not run'))).toEqual([
      `rejected: ${id} approved but not run: xen1 is frozen until 2030-01-01 00:00 UTC (alice: storage work)`,
    ]);
  });

  it('whose requester lost the right to run it meanwhile is on record in the audit as not run', async () => {
    const { desk, audited, delivered } = await makeDesk();
    const id = await askStop(desk, 'erin');
    // By approval time the config of now does not know the requester with those roles (people edited, reloaded).
    await store.update(id, (r) => ({ ...r, requester: 'nobody-now' }));
    expect((await desk.approve(id, person('bob'), 'terminal')).title).toBe('Approved, but not run');
    desk.stop();
    const about = audited.filter((e) => e.event === 'approval').map((e) => `${e.decision}: ${e.detail}`);
    expect(about.filter((a) => a.includes('not run'))).toEqual([
      `rejected: ${id} approved but not run: nobody-now may no longer run /stop there; nothing ran`,
    ]);
    expect(delivered.filter((d) => d.reply.title === '/stop xen1:web was approved but did not run').map((d) => d.channel)).toEqual([
      'terminal',
      'approvals',
    ]);
  });

  it('one that was queued is said to have been queued once', async () => {
    const { desk, enqueued } = await makeDesk();
    const id = await askStop(desk);
    expect((await desk.approve(id, person('bob'), 'terminal')).title).toBe(`Approved ${id}`);
    const again = await desk.approve(id, person('bob'), 'terminal');
    expect(again.title).toBe(`${id} was already approved`);
    expect(JSON.stringify(again.blocks)).toContain('; it was queued once; the result goes to alice');
    expect(enqueued).toHaveLength(1);
    desk.stop();
  });
});

describe('an approved request whose bot died before recording that it ran', () => {
  /**
   * bob approves alice's /stop on a bot that dies while it queues it (its enqueue never returns): alice's card says it
   * is being checked, the approval channel's still asks for a decision.
   */
  async function approvedOnADyingBot(): Promise<string> {
    const dying = await makeDesk({ enqueue: () => new Promise(() => {}) });
    const id = await askStop(dying.desk);
    void dying.desk.approve(id, person('bob'), 'terminal');
    await vi.waitFor(async () => expect((await store.get(id))?.status).toBe('approved'));
    dying.desk.stop();
    return id;
  }

  it('never queued: a bot starting later tells the requester and the cards that nothing ran, once the grace is over', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const id = await approvedOnADyingBot();
      const next = await makeDesk({ wasQueued: async () => false });
      await vi.advanceTimersByTimeAsync(30_000);
      // Within the grace the approving bot may still be queueing it: nothing is said.
      expect(next.titles()).toEqual([]);
      await vi.advanceTimersByTimeAsync(31_000);
      await vi.waitFor(() =>
        expect(next.delivered.map((d) => `${d.channel}: ${d.reply.title}`)).toEqual([
          'terminal: /stop xen1:web was approved but did not run',
          'approvals: /stop xen1:web was approved but did not run',
        ]),
      );
      expect(JSON.stringify(next.delivered[0]?.reply.blocks)).toContain('the bot stopped as it was starting it; nothing ran');
      expect(next.enqueued).toEqual([]);
      expect((await next.desk.approve(id, person('bob'), 'terminal')).title).toBe(`${id} was approved but did not run`);
      expect(await store.startingIds()).not.toContain(id);
      next.desk.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('queued after all (its request is in flight or answered): recorded as queued, the approval channel told it runs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const id = await approvedOnADyingBot();
      const next = await makeDesk({ wasQueued: async () => true });
      await vi.advanceTimersByTimeAsync(61_000);
      await vi.waitFor(async () => expect((await store.get(id))?.run).toEqual({ queued: true }));
      // alice's card is left to its result (the relay edits it in).
      await vi.waitFor(() =>
        expect(next.delivered.map((d) => `${d.channel}: ${d.reply.title}`)).toEqual(['approvals: /stop xen1:web approved by bob']),
      );
      expect(JSON.stringify(next.delivered[0]?.reply.blocks)).toContain("running; the result goes to alice's chat");
      expect(await store.startingIds()).not.toContain(id);
      next.desk.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('an approved request xenops made for a person (a scheduled post under a policy)', () => {
  it('runs with the roles the config gives that person (it has no platform identity to look up)', async () => {
    const { desk, enqueued } = await makeDesk();
    const id = await askStop(desk, 'alice', true);
    expect((await desk.approve(id, person('bob'), 'terminal')).title).toBe(`Approved ${id}`);
    expect(enqueued).toHaveLength(1);
    desk.stop();
  });
});

describe('an approval whose cards take long to post', () => {
  it('settled meanwhile by another bot as never queued, it is not queued after all', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // The approving bot's card of alice's hangs (a platform's rate limit) until released.
      let release = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      let holding = false;
      const slow = await makeDesk({
        deliver: async (t) => {
          if (holding && t.channelId === 'terminal') await held;
          return t;
        },
      });
      const id = await askStop(slow.desk);
      holding = true;
      const approving = slow.desk.approve(id, person('bob'), 'terminal');
      await vi.waitFor(async () => expect((await store.get(id))?.status).toBe('approved'));
      const next = await makeDesk({ wasQueued: async () => false });
      await vi.advanceTimersByTimeAsync(61_000);
      await vi.waitFor(async () => expect((await store.get(id))?.run).toMatchObject({ queued: false }));
      release();
      expect((await approving).title).toBe(`${id} was approved but did not run`);
      expect(slow.enqueued).toEqual([]);
      slow.desk.stop();
      next.desk.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
