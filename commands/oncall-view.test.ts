import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../src/core/args.ts';
import type { LocalContext } from '../src/core/define-command.ts';
import { nextHandoff, type OnCallAccess, type OnCallInput, onCallAt, zoneOf } from '../src/core/oncall.ts';
import type { Reply } from '../src/core/reply.ts';
import { oncall } from './oncall.ts';

/** bob, alice… a day each, handing off at 02:30 Berlin time; Saturday 25 October 2025's shift is bob's. */
const NIGHT: OnCallInput = {
  oncall: {
    timezone: 'Europe/Berlin',
    rotation: { people: ['bob', 'alice'], period: 'daily', handoff: '02:30', start: '2025-03-03' },
    overrides: [],
  },
  people: { alice: { onCall: false }, bob: { onCall: false } },
};

/** No rotation: bob and carol (onCall: true) are on call; dave covers them from 13:00 to 15:00 Berlin time. */
const COVERED: OnCallInput = {
  oncall: { timezone: 'Europe/Berlin', overrides: [{ person: 'dave', from: '2025-03-04T13:00', until: '2025-03-04T15:00' }] },
  people: { bob: { onCall: true }, carol: { onCall: true }, dave: { onCall: false } },
};

function context(input: OnCallInput): LocalContext {
  const access: OnCallAccess = {
    zone: zoneOf(input),
    view: async (at) => ({ ...onCallAt(input, [], at), zone: zoneOf(input), nextHandoff: nextHandoff(input, at) }),
    set: async () => {
      throw new Error('set was not expected');
    },
    clear: async () => {
      throw new Error('clear was not expected');
    },
  };
  return {
    now: () => Date.now(),
    person: 'alice',
    platformUserId: 'alice',
    platform: 'terminal',
    roles: ['admin'],
    oncall: access,
  } as Partial<LocalContext> as LocalContext;
}
const run = (text: string, ctx: LocalContext) => oncall.run(parseArgs(oncall, { kind: 'text', text }) as never, ctx) as Promise<Reply>;
const fields = (r: Reply) => (r.blocks[0] as { fields: { name: string; value: string }[] }).fields.map((f) => `${f.name}: ${f.value}`);

afterEach(() => {
  vi.useRealTimers();
});

describe('/oncall in the hour Berlin clocks go back (26 October 2025, 02:00–03:00 twice)', () => {
  it('at 02:45 CEST, the first time round: bob until the second 02:30, said with its offset', async () => {
    vi.useFakeTimers({ now: new Date('2025-10-26T00:45:00Z'), toFake: ['Date'] });
    const r = await run('', context(NIGHT));
    expect(r.title).toBe('bob is on call');
    expect(fields(r)).toEqual([
      'until: Sun 26 Oct 02:30 (UTC+01:00)',
      'because: the rotation',
      'next: alice from Sun 26 Oct 02:30 (UTC+01:00)',
    ]);
  });

  it('at 02:10 CET, the second time round: the same answer, not bob handing back to alice', async () => {
    vi.useFakeTimers({ now: new Date('2025-10-26T01:10:00Z'), toFake: ['Date'] });
    const r = await run('', context(NIGHT));
    expect(r.title).toBe('bob is on call');
    expect(fields(r)[0]).toBe('until: Sun 26 Oct 02:30 (UTC+01:00)');
  });
});

describe('/oncall when several onCall: true people come back after an override', () => {
  it('names every one of them as next, not the first alone', async () => {
    vi.useFakeTimers({ now: new Date('2025-03-04T12:30:00Z'), toFake: ['Date'] });
    const r = await run('', context(COVERED));
    expect(r.title).toBe('dave is on call');
    expect((r.blocks[0] as { fields: { name: string; value: string }[] }).fields[2]).toEqual({
      name: 'next',
      value: 'bob, carol from Tue 4 Mar 15:00',
      inline: true,
    });
  });

  it('the status says so too (the next person alone stays the first, for escalation)', () => {
    const s = onCallAt(COVERED, [], new Date('2025-03-04T12:30:00Z'));
    expect(s.next).toEqual({ person: 'bob', also: ['carol'], from: new Date('2025-03-04T14:00:00Z') });
  });
});
