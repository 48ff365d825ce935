import { describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../src/core/args.ts';
import type { LocalContext } from '../src/core/define-command.ts';
import { nextHandoff, type OnCallAccess, type OnCallInput, onCallAt, zoneOf } from '../src/core/oncall.ts';
import type { Reply } from '../src/core/reply.ts';
import { oncall } from './oncall.ts';

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
  };
  return {
    person: 'alice',
    platformUserId: 'alice',
    platform: 'terminal',
    roles: ['admin'],
    oncall: access,
  } as Partial<LocalContext> as LocalContext;
}
const run = (text: string, ctx: LocalContext) => oncall.run(parseArgs(oncall, { kind: 'text', text }) as never, ctx) as Promise<Reply>;

describe('/oncall when several onCall: true people come back after an override', () => {
  it('names every one of them as next, not the first alone', async () => {
    vi.useFakeTimers({ now: new Date('2025-03-04T12:30:00Z'), toFake: ['Date'] });
    try {
      const r = await run('', context(COVERED));
      expect(r.title).toBe('dave is on call');
      expect((r.blocks[0] as { fields: { name: string; value: string }[] }).fields[2]).toEqual({
        name: 'next',
        value: 'bob, carol from Tue 4 Mar 15:00',
        inline: true,
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it('the status says so too (the next person alone stays the first, for escalation)', () => {
    const s = onCallAt(COVERED, [], new Date('2025-03-04T12:30:00Z'));
    expect(s.next).toEqual({ person: 'bob', also: ['carol'], from: new Date('2025-03-04T14:00:00Z') });
  });
});
