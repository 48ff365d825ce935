import { describe, expect, it } from 'vitest';
import { windowOpenAt } from './freeze.ts';

/**
 * A weekly window is open while its zone's clock reads a time inside it. Europe/Berlin: on 2025-03-30 the clock jumps
 * from 02:00 to 03:00 (01:00 UTC); on 2025-10-26 it reads 02:00–03:00 twice (00:00–02:00 UTC).
 */
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const weekly = (weekday: 'saturday' | 'sunday', from: string, until: string) => ({
  hosts: ['xen1'],
  reason: 'patching',
  weekday,
  from,
  until,
  timezone: 'Europe/Berlin',
});
const span = (o: { from: number; until: number } | null) => o && { from: iso(o.from), until: iso(o.until) };

describe('a weekly window that starts in the hour clocks skip', () => {
  it('Sunday 02:30–04:00 is open at 03:10 (the clock reads a time inside it), from the jump on', () => {
    const open = windowOpenAt(weekly('sunday', '02:30', '04:00'), at('2025-03-30T01:10:00Z'));
    expect(span(open)).toEqual({ from: '2025-03-30T01:00:00.000Z', until: '2025-03-30T02:00:00.000Z' });
  });
});

describe('a weekly window that ends in the hour clocks skip', () => {
  it('Saturday 22:00–02:30 is closed at 03:10, its end (02:30) being past', () => {
    expect(windowOpenAt(weekly('saturday', '22:00', '02:30'), at('2025-03-30T01:10:00Z'))).toBeNull();
    const open = windowOpenAt(weekly('saturday', '22:00', '02:30'), at('2025-03-30T00:30:00Z'));
    expect(span(open)).toEqual({ from: '2025-03-29T21:00:00.000Z', until: '2025-03-30T01:00:00.000Z' });
  });
});

describe('a weekly window in the hour that happens twice', () => {
  it('Sunday 02:00–03:00 is open the first time the clock reads 02:30 too, and until the second 03:00', () => {
    const first = windowOpenAt(weekly('sunday', '02:00', '03:00'), at('2025-10-26T00:30:00Z'));
    expect(span(first)).toEqual({ from: '2025-10-26T00:00:00.000Z', until: '2025-10-26T02:00:00.000Z' });
    expect(span(windowOpenAt(weekly('sunday', '02:00', '03:00'), at('2025-10-26T01:30:00Z')))).toEqual(span(first));
    expect(windowOpenAt(weekly('sunday', '02:00', '03:00'), at('2025-10-26T02:00:00Z'))).toBeNull();
  });

  it('Sunday 02:30–04:00 opens the first time the clock reads 02:30', () => {
    const open = windowOpenAt(weekly('sunday', '02:30', '04:00'), at('2025-10-26T00:40:00Z'));
    expect(span(open)).toEqual({ from: '2025-10-26T00:30:00.000Z', until: '2025-10-26T03:00:00.000Z' });
  });
});
