import { describe, expect, it } from 'vitest';
import type { MaintenanceWindow } from '../config/maintenance-schema.ts';
import { describeFreeze, freezeOf, untilText } from './freeze.ts';

/**
 * A freeze's end said in `oncall.timezone` (the zone a typed until is read in), the UTC instant beside it; in UTC, as
 * it always was. A weekly maintenance window's end is said in its own zone.
 */
const at = (iso: string) => Date.parse(iso);

describe('untilText in a zone', () => {
  it('in UTC (the default) is the UTC text alone, as before', () => {
    expect(untilText(at('2026-12-24T23:00:00Z'))).toBe('until 2026-12-24 23:00 UTC');
    expect(untilText(at('2026-12-24T23:00:00Z'), 'UTC')).toBe('until 2026-12-24 23:00 UTC');
    expect(untilText(at('2026-11-25T10:30:19.200Z'), 'UTC')).toBe('until 2026-11-25 10:30:20 UTC');
    expect(untilText(null, 'Europe/Berlin')).toBe('until /unfreeze');
  });

  it("names the zone's wall time first, the UTC instant beside it", () => {
    expect(untilText(at('2026-12-24T23:00:00Z'), 'Europe/Berlin')).toBe('until Fri 25 Dec 00:00 Europe/Berlin (2026-12-24 23:00 UTC)');
  });

  it('says the seconds of an end mid-minute in both', () => {
    expect(untilText(at('2026-11-25T10:30:19.200Z'), 'Europe/Berlin')).toBe(
      'until Wed 25 Nov 11:30:20 Europe/Berlin (2026-11-25 10:30:20 UTC)',
    );
  });

  it('marks a time the clock shows twice with its offset', () => {
    expect(untilText(at('2025-10-26T01:30:00Z'), 'Europe/Berlin')).toBe(
      'until Sun 26 Oct 02:30 Europe/Berlin (UTC+01:00) (2025-10-26 01:30 UTC)',
    );
  });

  it('names the year of an end in another year than the freeze began', () => {
    expect(untilText(at('2026-12-31T23:00:00Z'), 'Europe/Berlin', at('2026-12-30T10:00:00Z'))).toBe(
      'until Fri 1 Jan 2027 00:00 Europe/Berlin (2026-12-31 23:00 UTC)',
    );
  });
});

describe('describeFreeze in a zone', () => {
  it('says the end of a freeze from chat in the zone given', () => {
    const f = { host: 'xen1', by: 'alice', reason: 'xmas', since: at('2026-12-20T10:00:00Z'), until: at('2026-12-24T23:00:00Z') };
    expect(describeFreeze(f, 'Europe/Berlin')).toBe(
      'xen1 is frozen until Fri 25 Dec 00:00 Europe/Berlin (2026-12-24 23:00 UTC) (alice: xmas) — reads go on; mutating commands are refused until then (or /unfreeze)',
    );
  });

  it("says a weekly window's end in the window's own zone", () => {
    const w: MaintenanceWindow = {
      hosts: ['xen1'],
      reason: 'patch night',
      weekday: 'sunday',
      from: '23:00',
      until: '01:00',
      timezone: 'America/New_York',
    };
    const f = freezeOf('xen1', at('2026-12-28T04:30:00Z'), [w], {});
    expect(f && describeFreeze(f, 'Europe/Berlin')).toBe(
      'xen1 is frozen until Mon 28 Dec 01:00 America/New_York (2026-12-28 06:00 UTC) (maintenance window: patch night) — reads go on; mutating commands are refused until the window closes',
    );
  });

  it('says a one-off window, and a weekly one in UTC (its default), in the zone given', () => {
    const once: MaintenanceWindow = { hosts: ['xen1'], reason: 'rack move', from: '2026-11-25T10:00:00Z', until: '2026-11-25T18:00:00Z' };
    const f = freezeOf('xen1', at('2026-11-25T12:00:00Z'), [once], {});
    expect(f && describeFreeze(f, 'Europe/Berlin')).toContain('until Wed 25 Nov 19:00 Europe/Berlin (2026-11-25 18:00 UTC)');
    const weekly: MaintenanceWindow = {
      hosts: ['xen1'],
      reason: 'patching',
      weekday: 'wednesday',
      from: '10:00',
      until: '18:00',
      timezone: 'UTC',
    };
    const g = freezeOf('xen1', at('2026-11-25T12:00:00Z'), [weekly], {});
    expect(g && describeFreeze(g, 'Europe/Berlin')).toContain('until Wed 25 Nov 19:00 Europe/Berlin (2026-11-25 18:00 UTC)');
    expect(g && describeFreeze(g)).toContain('until 2026-11-25 18:00 UTC (maintenance window');
  });
});
