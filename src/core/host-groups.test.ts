import { describe, expect, it } from 'vitest';
import { hostCount, hostNames, NAMED_HOSTS_MAX, type Subject, sayOnce } from './host-groups.ts';

const fleet = (n: number) => Array.from({ length: n }, (_, i) => `xen${i + 1}`);
const frozen = (s: Subject) => [`${s.names} ${s.many ? 'are' : 'is'} frozen until 12:00 UTC (alice: kernel upgrade)`];

describe('hostNames', () => {
  it('names a few hosts in full, as before', () => {
    expect(hostNames(['xen1'])).toBe('xen1');
    expect(hostNames(['xen1', 'xen2', 'xen3'])).toBe('xen1, xen2, xen3');
    expect(hostNames(fleet(NAMED_HOSTS_MAX))).toBe(fleet(NAMED_HOSTS_MAX).join(', '));
  });

  it('names the first ones of a long list and counts the rest, so every host is in the line or in the count', () => {
    expect(hostNames(fleet(NAMED_HOSTS_MAX + 1))).toBe(`${fleet(NAMED_HOSTS_MAX).join(', ')} and 1 more`);
    const line = hostNames(fleet(1000));
    expect(line).toBe(`${fleet(NAMED_HOSTS_MAX).join(', ')} and 980 more`);
  });
});

describe('hostCount (a title)', () => {
  it('names a few, counts many, and says all when the person said all', () => {
    expect(hostCount(['xen1', 'xen2'], false)).toBe('xen1, xen2');
    expect(hostCount(['xen1', 'xen2'], true)).toBe('xen1, xen2');
    expect(hostCount(fleet(40), false)).toBe('40 hosts');
    expect(hostCount(fleet(1000), true)).toBe('all 1,000 hosts');
  });
});

describe('sayOnce', () => {
  it('says a line the same for many hosts once, with the plural verb', () => {
    expect(sayOnce(['xen1', 'xen2', 'xen3'], () => frozen)).toEqual([
      'xen1, xen2, xen3 are frozen until 12:00 UTC (alice: kernel upgrade)',
    ]);
  });

  it('keeps the words for one host as they were', () => {
    expect(sayOnce(['xen1'], () => frozen)).toEqual(['xen1 is frozen until 12:00 UTC (alice: kernel upgrade)']);
  });

  it('gives hosts with a different line a group of their own, in the order of their first host, and skips hosts with none', () => {
    const window = (s: Subject) => [`${s.names} ${s.many ? 'are' : 'is'} frozen, and by the maintenance window "disk swap"`];
    const lines = sayOnce(['xen1', 'xen2', 'xen3', 'xen4', 'xen5'], (h) =>
      h === 'xen2' || h === 'xen4' ? window : h === 'xen5' ? null : frozen,
    );
    expect(lines).toEqual([
      'xen1, xen3 are frozen until 12:00 UTC (alice: kernel upgrade)',
      'xen2, xen4 are frozen, and by the maintenance window "disk swap"',
    ]);
  });

  it('keeps the lines of a group together (a frozen line and the freeze it replaced)', () => {
    const replaced = (s: Subject) => [...frozen(s), `${s.names}: replaces the freeze until 18:00 UTC (alice: patching)`];
    expect(sayOnce(['xen1', 'xen2', 'xen3'], (h) => (h === 'xen2' ? replaced : frozen))).toEqual([
      'xen1, xen3 are frozen until 12:00 UTC (alice: kernel upgrade)',
      'xen2 is frozen until 12:00 UTC (alice: kernel upgrade)',
      'xen2: replaces the freeze until 18:00 UTC (alice: patching)',
    ]);
  });

  it('never merges lines that name their host other than as the subject', () => {
    const own = (h: string) => (s: Subject) => [`${s.names} is frozen — /unfreeze ${h} first`];
    expect(sayOnce(['xen1', 'xen2'], own)).toEqual(['xen1 is frozen — /unfreeze xen1 first', 'xen2 is frozen — /unfreeze xen2 first']);
  });

  it('shortens a long group, and hands the sentence every host of it', () => {
    let seen: readonly string[] = [];
    const lines = sayOnce(fleet(1000), () => (s: Subject) => {
      if (s.hosts.length > 1) seen = s.hosts;
      return frozen(s);
    });
    expect(lines).toEqual([`${fleet(NAMED_HOSTS_MAX).join(', ')} and 980 more are frozen until 12:00 UTC (alice: kernel upgrade)`]);
    expect(seen).toEqual(fleet(1000));
  });
});
