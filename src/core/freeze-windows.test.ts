import { describe, expect, it } from 'vitest';
import { describeFreeze, freezeOf, windowOpenAt } from './freeze.ts';

/** Weekly maintenance windows across DST changes, and what a refusal names. */
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('a weekly maintenance window on the day clocks go forward', () => {
  it('Sunday 02:00–03:00 Europe/Berlin on 2025-03-30 does not freeze the hosts for 24 hours', () => {
    const w = { hosts: ['xen1'], reason: 'patching', weekday: 'sunday' as const, from: '02:00', until: '03:00', timezone: 'Europe/Berlin' };
    // Sunday 30 March 2025, 14:00 in Berlin (12:00 UTC), eleven hours after the window's wall-clock end.
    const open = windowOpenAt(w, at('2025-03-30T12:00:00Z'));
    // Today: open from 2025-03-30T01:00Z until 2025-03-31T01:00Z (Monday 03:00): the skipped hour moves the start to
    // 03:00, the end (03:00) is then "not after the start", and a day is added.
    expect(open && { from: iso(open.from), until: iso(open.until) }).toEqual(null);
    expect(windowOpenAt(w, at('2025-03-30T22:30:00Z')), 'Monday 00:30 Berlin').toBeNull();
  });

  it('Sunday 02:30–03:00 America/New_York on 2025-03-09 is closed that afternoon', () => {
    const w = {
      hosts: ['xen1'],
      reason: 'patching',
      weekday: 'sunday' as const,
      from: '02:30',
      until: '03:00',
      timezone: 'America/New_York',
    };
    // Sunday 9 March 2025, 12:00 in New York (16:00 UTC).
    const open = windowOpenAt(w, at('2025-03-09T16:00:00Z'));
    expect(open && { from: iso(open.from), until: iso(open.until) }).toEqual(null);
  });

  it('a 24-hour window Sunday 02:00–02:00 Europe/Berlin ends Monday 02:00, not Monday 03:00', () => {
    const w = { hosts: ['xen1'], reason: 'patching', weekday: 'sunday' as const, from: '02:00', until: '02:00', timezone: 'Europe/Berlin' };
    // Monday 31 March 2025, 02:30 in Berlin (00:30 UTC): after the window's wall-clock end.
    const open = windowOpenAt(w, at('2025-03-31T00:30:00Z'));
    expect(open && { from: iso(open.from), until: iso(open.until) }).toEqual(null);
  });

  it('what a refused command is told on that Sunday afternoon: no freeze at all', () => {
    const w = { hosts: ['xen1'], reason: 'patching', weekday: 'sunday' as const, from: '02:00', until: '03:00', timezone: 'Europe/Berlin' };
    const f = freezeOf('xen1', at('2025-03-30T12:00:00Z'), [w], {});
    // Today: "xen1 is frozen until 2025-03-31 01:00 UTC (maintenance window: patching) — … refused until the window closes".
    expect(f && describeFreeze(f)).toBeNull();
  });
});

describe('a freeze from chat inside an open maintenance window', () => {
  it('the refusal names the time commands are refused until (the window end), not the shorter freeze end', () => {
    const windows = [{ hosts: ['xen1'], reason: 'rack move', from: '2026-11-25T10:00:00Z', until: '2026-11-25T18:00:00Z' }];
    const runtime = { xen1: { by: 'alice', reason: 'kernel', since: at('2026-11-25T11:00:00Z'), until: at('2026-11-25T13:00:00Z') } };
    const f = freezeOf('xen1', at('2026-11-25T12:00:00Z'), windows, runtime);
    // Refused at 12:00 and still at 13:00–18:00 (the window), yet at 12:00 the refusal says
    // "frozen until 2026-11-25 13:00 UTC (alice: kernel) — … refused until then (or /unfreeze)".
    expect(freezeOf('xen1', at('2026-11-25T13:30:00Z'), windows, runtime)).not.toBeNull();
    expect(f && describeFreeze(f)).toContain('2026-11-25 18:00 UTC');
  });
});
