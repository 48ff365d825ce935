import { describe, expect, it } from 'vitest';
import { describeFreeze, freezeOf, windowOpenAt } from './freeze.ts';

const at = (iso: string) => Date.parse(iso);

describe('maintenance windows and freezes', () => {
  it('a one-off window is open from its start to its end', () => {
    const w = { hosts: ['xen*'], reason: 'UPS swap', from: '2026-11-28T22:00:00Z', until: '2026-11-29T02:00:00Z' };
    expect(windowOpenAt(w, at('2026-11-28T21:59:59Z'))).toBeNull();
    expect(windowOpenAt(w, at('2026-11-29T01:00:00Z'))).toEqual({ from: at('2026-11-28T22:00:00Z'), until: at('2026-11-29T02:00:00Z') });
    expect(windowOpenAt(w, at('2026-11-29T02:00:00Z'))).toBeNull();
  });

  it('a weekly window in a zone, including one that crosses midnight', () => {
    const w = { hosts: ['xen1'], reason: 'patching', weekday: 'sunday' as const, from: '23:00', until: '01:00', timezone: 'Europe/Berlin' };
    // Sunday 29 Nov 2026, 23:30 in Berlin = 22:30 UTC; Monday 00:30 Berlin = Sunday 23:30 UTC.
    expect(windowOpenAt(w, at('2026-11-29T22:30:00Z'))).not.toBeNull();
    expect(windowOpenAt(w, at('2026-11-29T23:30:00Z'))).not.toBeNull();
    expect(windowOpenAt(w, at('2026-11-30T00:30:00Z'))).toBeNull();
    expect(windowOpenAt(w, at('2026-11-29T21:30:00Z'))).toBeNull();
  });

  it('a freeze from chat wins, lapses at its end, and only the matching hosts are frozen by a window', () => {
    const windows = [{ hosts: ['xen2'], reason: 'disk swap', from: '2026-11-25T00:00:00Z', until: '2026-11-26T00:00:00Z' }];
    const runtime = {
      xen1: { by: 'alice', reason: 'kernel upgrade', since: at('2026-11-25T10:00:00Z'), until: at('2026-11-25T12:00:00Z') },
    };
    expect(freezeOf('xen1', at('2026-11-25T11:00:00Z'), windows, runtime)).toMatchObject({ by: 'alice' });
    expect(freezeOf('xen1', at('2026-11-25T12:00:00Z'), windows, runtime)).toBeNull();
    expect(freezeOf('xen2', at('2026-11-25T12:00:00Z'), windows, runtime)).toMatchObject({ by: 'maintenance window', reason: 'disk swap' });
    expect(describeFreeze({ host: 'xen1', by: 'alice', reason: 'kernel upgrade', since: 0, until: null })).toBe(
      'xen1 is frozen until /unfreeze (alice: kernel upgrade) — reads go on; mutating commands are refused until /unfreeze',
    );
    // Refused, not held ("wait" read as queued); a timed freeze ends by itself, a window is not lifted by /unfreeze.
    expect(describeFreeze({ host: 'xen1', by: 'alice', reason: 'k', since: 0, until: at('2026-11-25T12:00:00Z') })).toBe(
      'xen1 is frozen until 2026-11-25 12:00 UTC (alice: k) — reads go on; mutating commands are refused until then (or /unfreeze)',
    );
    expect(
      describeFreeze({ host: 'xen2', by: 'maintenance window', reason: 'disk swap', since: 0, until: at('2026-11-25T12:00:00Z') }),
    ).toBe(
      'xen2 is frozen until 2026-11-25 12:00 UTC (maintenance window: disk swap) — reads go on; mutating commands are refused until the window closes',
    );
  });
});
