import { describe, expect, it, vi } from 'vitest';
import { freezeDesk } from '../test/helpers/freeze-desk.ts';
import { freeze } from './freeze.ts';

/**
 * `/freeze HOSTS [UNTIL] REASON` reads its until off the reason's first word: one meant as a time must never become
 * the start of the reason of a freeze that does not end.
 */
const { calls, run } = freezeDesk('Europe/Berlin', ['xen1', 'xen2', 'xen3']);

describe('/freeze: a first word shaped like a duration is an until, valid or not', () => {
  for (const typed of ['-1h', '999999h', '1.5h', '1,5h', '٢h', '２h', '10min', '30s', '2hours', '−1h']) {
    it(`"${typed} kernel upgrade" is refused, never an endless freeze whose reason starts "${typed}"`, async () => {
      const r = await run('xen1', `${typed} kernel upgrade`);
      expect(calls).toEqual([]);
      expect(r.kind).toBe('error');
      expect(JSON.stringify(r)).toContain(typed);
    });
  }

  it('"2 hours kernel upgrade" (number, then a unit) is refused too', async () => {
    const r = await run('xen1', '2 hours kernel upgrade');
    expect(calls).toEqual([]);
    expect(r.kind).toBe('error');
    expect(JSON.stringify(r)).toContain('2 hours');
  });

  it('a reason that merely starts with a number ("2nd attempt", "3 guests") is a reason', async () => {
    await run('xen1', '2nd attempt at the kernel');
    await run('xen1', '3 guests misbehave');
    expect(calls.map((c) => [c.until, c.reason])).toEqual([
      [null, '2nd attempt at the kernel'],
      [null, '3 guests misbehave'],
    ]);
  });

  it('"90m" and "1h30m" still end 90 minutes from now', async () => {
    await run('xen1', '90m a');
    await run('xen1', '1h30m b');
    expect(calls.map((c) => c.until?.toISOString())).toEqual(['2026-12-07T11:30:00.000Z', '2026-12-07T11:30:00.000Z']);
  });
});

describe('/freeze: date and time typed as two words', () => {
  it('"2027-01-05 9:00" (an hour of one digit) is 09:00 in the zone, not refused in a rewritten form', async () => {
    const r = await run('xen1', '2027-01-05 9:00 storage');
    expect(r.kind, JSON.stringify(r)).toBe('result');
    expect(calls).toEqual([{ hosts: ['xen1'], until: new Date('2027-01-05T08:00:00Z'), reason: 'storage' }]);
  });
});

describe('/freeze until a time of day the clocks skip (Europe/Berlin, 29 Mar 2026: 02:00 → 03:00)', () => {
  it('typed before the jump, "02:30" ends when the clock jumps past it (03:00 CEST), not half an hour later', async () => {
    vi.setSystemTime(new Date('2026-03-28T22:00:00Z'));
    await run('xen1', '02:30 patch');
    expect(calls[0]?.until?.toISOString()).toBe('2026-03-29T01:00:00.000Z');
  });

  it('typed after the jump (03:10 CEST), "02:30" is the next 02:30, tomorrow: not a freeze of 20 minutes', async () => {
    vi.setSystemTime(new Date('2026-03-29T01:10:00Z'));
    await run('xen1', '02:30 patch');
    // 30 Mar 02:30 CEST = 00:30 UTC.
    expect(calls[0]?.until?.toISOString()).toBe('2026-03-30T00:30:00.000Z');
  });

  it('a dated until in the skipped hour ends at the jump whether or not it has seconds or an hour of one digit', async () => {
    // 28 Mar 2027, Europe/Berlin: 02:00 CET → 03:00 CEST = 01:00 UTC. `…T02:30:00` was read by another parser than
    // `…T02:30`, which placed it at 03:30 CEST: half an hour past the time typed.
    for (const typed of ['2027-03-28T02:30', '2027-03-28T02:30:00', '2027-03-28 2:30']) await run('xen1', `${typed} patch`);
    expect(calls.map((c) => [c.until?.toISOString(), c.reason])).toEqual([
      ['2027-03-28T01:00:00.000Z', 'patch'],
      ['2027-03-28T01:00:00.000Z', 'patch'],
      ['2027-03-28T01:00:00.000Z', 'patch'],
    ]);
  });
});

describe('/freeze until a time of day the clocks repeat (Europe/Berlin, 25 Oct 2026: 03:00 → 02:00)', () => {
  it('typed before the first 02:30, "02:30" is the second one: a freeze ends at the last time the clock reads it', async () => {
    vi.setSystemTime(new Date('2026-10-24T23:50:00Z')); // 01:50 CEST
    await run('xen1', '02:30 patch');
    expect(calls[0]?.until?.toISOString()).toBe('2026-10-25T01:30:00.000Z'); // 02:30 CET
  });

  it('a dated "2026-10-25T02:30:00" is the second one too, like "2026-10-25T02:30"', async () => {
    vi.setSystemTime(new Date('2026-10-24T20:00:00Z'));
    await run('xen1', '2026-10-25T02:30:00 a');
    await run('xen1', '2026-10-25T02:30 b');
    expect(calls.map((c) => c.until?.toISOString())).toEqual(['2026-10-25T01:30:00.000Z', '2026-10-25T01:30:00.000Z']);
  });
});

describe('/freeze: hosts typed with spaces', () => {
  it('"/freeze xen1 xen2 2h kernel" is refused, not xen1 frozen for good with xen2 left out', async () => {
    for (const reason of ['xen2 2h kernel upgrade', 'xen2,xen3 storage']) {
      const r = await run('xen1', reason);
      expect(r.kind).toBe('error');
      expect(JSON.stringify(r)).toContain(`hosts are separated by commas, with no space: /freeze xen1,${reason.split(' ')[0]}`);
    }
    expect(calls).toEqual([]);
  });

  it('a reason whose first word is no host (or only partly hosts) is a reason', async () => {
    await run('xen1', 'xen9 is being replaced');
    await run('xen1', 'xen2,db1 swap');
    expect(calls.map((c) => c.reason)).toEqual(['xen9 is being replaced', 'xen2,db1 swap']);
  });
});

describe('/freeze: the reason', () => {
  it('with control characters (a bidi override, a bell) is refused: it is shown to everyone refused', () => {
    expect(freeze.args.safeParse({ hosts: 'xen1', reason: 'kernel \u202eedargpu' }).success).toBe(false);
    expect(freeze.args.safeParse({ hosts: 'xen1', reason: 'kernel\u0007 upgrade' }).success).toBe(false);
    expect(freeze.args.safeParse({ hosts: 'xen1', reason: 'kernel upgrade — Müller’s' }).success).toBe(true);
  });

  it('a host named twice is frozen once', async () => {
    await run('xen1,xen1', 'x');
    expect(calls[0]?.hosts).toEqual(['xen1']);
  });
});

// `/freeze xen2 until 18:00 kernel` froze xen2 until /unfreeze under the reason "until 18:00 kernel": an operator who
// wrote when it ends got a freeze that never does.
describe('/freeze: the until after "until" or "for", as it is said', () => {
  it('"until 18:00", "till 18:00", "for 2h" and "until tomorrow 09:00" end then, the word not in the reason', async () => {
    await run('xen1', 'until 18:00 kernel');
    await run('xen1', 'till 18:00 kernel');
    await run('xen1', 'for 2h kernel');
    await run('xen1', 'until tomorrow 09:00 kernel');
    // 10:00 UTC is 11:00 in Berlin: 18:00 there is 17:00 UTC.
    expect(calls.map((c) => [c.until?.toISOString(), c.reason])).toEqual([
      ['2026-12-07T17:00:00.000Z', 'kernel'],
      ['2026-12-07T17:00:00.000Z', 'kernel'],
      ['2026-12-07T12:00:00.000Z', 'kernel'],
      ['2026-12-08T08:00:00.000Z', 'kernel'],
    ]);
  });

  it('"until 25:00 kernel" is refused as the bad time it is, never an endless freeze', async () => {
    const r = await run('xen1', 'until 25:00 kernel');
    expect(calls).toEqual([]);
    expect(JSON.stringify(r)).toContain('25:00 is not a time of day');
  });

  it('"for the storage swap" (no time after the word) is a reason, word and all', async () => {
    await run('xen1', 'for the storage swap');
    expect(calls.map((c) => [c.until, c.reason])).toEqual([[null, 'for the storage swap']]);
  });
});
