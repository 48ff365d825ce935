import { describe, expect, it } from 'vitest';
import { lintConfig } from './lint.ts';
import { checkConfigText, parseConfigText } from './load.ts';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const BASE = [
  'hosts:',
  `  xen1: { address: a, privateKeyPath: /k, hostKey: "${FP}" }`,
  'people:',
  '  alice: {}',
  '  bob: { onCall: true }',
  '',
].join('\n');
const issues = (oncall: string) => checkConfigText(`${BASE}oncall:\n${oncall}`, {}).issues;
const KNOWN = { permissions: ['oncall.read', 'oncall.set'], groups: {} };

describe('config: the oncall section', () => {
  it('reads a rotation and overrides as written (times unquoted, as YAML 1.2 keeps them text)', () => {
    const c = parseConfigText(
      `${BASE}oncall:\n  timezone: Europe/Berlin\n  rotation:\n    people: [bob, alice]\n    period: weekly\n    handoff: 09:00\n    handoffDay: monday\n    start: 2025-01-06\n  overrides:\n    - { person: alice, from: 2025-03-01T09:00, until: 2025-03-02T09:00+01:00 }\n`,
      't',
      {},
    );
    expect(c.oncall).toEqual({
      timezone: 'Europe/Berlin',
      rotation: { people: ['bob', 'alice'], period: 'weekly', handoff: '09:00', handoffDay: 'monday', start: '2025-01-06' },
      overrides: [{ person: 'alice', from: '2025-03-01T09:00', until: '2025-03-02T09:00+01:00' }],
    });
    expect(parseConfigText(BASE, 't', {}).oncall).toBeUndefined();
    expect(parseConfigText(`${BASE}oncall: {}\n`, 't', {}).oncall).toEqual({ timezone: 'UTC', overrides: [] });
  });

  it('names unknown people, bad zones and bad times, each with its path', () => {
    expect(
      issues(
        [
          '  timezone: Europe/Berln',
          '  rotation: { people: [bob, zed], period: daily, handoff: "9am", start: "2025-02-30" }',
          '  overrides:',
          '    - { person: yan, from: "next week", until: 2025-03-01T09:00 }',
        ].join('\n'),
      ),
    ).toEqual([
      {
        path: 'oncall.timezone',
        message: 'unknown time zone "Europe/Berln": use an IANA name such as Europe/Berlin, America/New_York or UTC',
      },
      { path: 'oncall.rotation.handoff', message: 'expected a time of day as HH:MM (24-hour, e.g. "09:00"), got "9am"' },
      { path: 'oncall.rotation.start', message: 'expected a date as YYYY-MM-DD (e.g. 2025-01-06), got "2025-02-30"' },
      { path: 'oncall.rotation.people[1]', message: 'unknown person "zed" (people: alice, bob)' },
      { path: 'oncall.overrides[0].person', message: 'unknown person "yan" (people: alice, bob)' },
    ]);
  });

  it('checks overrides once the zone is good: ISO date-times, and until after from', () => {
    expect(
      issues(
        [
          '  timezone: Europe/Berlin',
          '  overrides:',
          '    - { person: alice, from: "next week", until: 2025-03-01T09:00 }',
          '    - { person: alice, from: 2025-03-01T09:00, until: 2025-03-01T08:00Z }',
        ].join('\n'),
      ),
    ).toEqual([
      {
        path: 'oncall.overrides[0].from',
        message: 'expected an ISO date-time such as 2025-03-01T09:00 (in Europe/Berlin) or 2025-03-01T09:00+01:00, got "next week"',
      },
      { path: 'oncall.overrides[1].until', message: 'must be after from (2025-03-01T09:00)' },
    ]);
  });

  it('a weekly rotation needs its handoffDay and starts on it; a daily one has none', () => {
    expect(issues('  rotation: { people: [bob], period: weekly, handoff: "09:00", start: "2025-01-06" }')).toEqual([
      { path: 'oncall.rotation.handoffDay', message: 'a weekly rotation needs the weekday shifts begin on (e.g. monday)' },
    ]);
    expect(issues('  rotation: { people: [bob], period: weekly, handoff: "09:00", handoffDay: monday, start: "2025-01-07" }')).toEqual([
      {
        path: 'oncall.rotation.start',
        message: "2025-01-07 is a tuesday: a weekly rotation's first shift begins on its handoffDay (monday)",
      },
    ]);
    expect(issues('  rotation: { people: [bob], period: daily, handoff: "09:00", handoffDay: friday, start: "2025-01-07" }')).toEqual([
      { path: 'oncall.rotation.handoffDay', message: 'only for weekly rotations: a daily one hands off every day' },
    ]);
    expect(issues('  rotation: { people: [], period: fortnightly, handoff: "09:00", start: "2025-01-07" }')).toEqual([
      { path: 'oncall.rotation.people', message: 'must list at least 1 item' },
      { path: 'oncall.rotation.period', message: 'expected one of daily, weekly, got "fortnightly"' },
    ]);
  });
});

describe('lintConfig: the oncall section', () => {
  const NOW = new Date('2025-06-01T12:00:00Z');
  const lint = (oncall: string) => lintConfig(parseConfigText(`${BASE}oncall:\n${oncall}`, 't', {}), KNOWN, { now: NOW });

  it('warns about overrides that are over', () => {
    expect(
      lint(
        [
          '  timezone: Europe/Berlin',
          '  overrides:',
          '    - { person: alice, from: 2025-03-01T09:00, until: 2025-03-02T09:00 }',
          '    - { person: alice, from: 2025-05-31T09:00, until: 2025-06-02T09:00 }',
        ].join('\n'),
      ),
    ).toEqual([
      {
        path: 'oncall.overrides[0].until',
        message: 'this override ended Sun 2 Mar 09:00 (Europe/Berlin); remove it',
        severity: 'warning',
      },
    ]);
  });

  it('warns about a handoff at a time the zone skips, naming the next such day', () => {
    expect(lint('  timezone: Europe/Berlin\n  rotation: { people: [bob], period: daily, handoff: "02:30", start: "2025-01-06" }')).toEqual([
      {
        path: 'oncall.rotation.handoff',
        message: "02:30 does not exist in Europe/Berlin on 2026-03-29 (clocks go forward): that day's handoff happens at 03:30",
        severity: 'warning',
      },
    ]);
    expect(lint('  timezone: Europe/Berlin\n  rotation: { people: [bob], period: daily, handoff: "09:00", start: "2025-01-06" }')).toEqual(
      [],
    );
    expect(lint('  timezone: UTC\n  rotation: { people: [bob], period: daily, handoff: "02:30", start: "2025-01-06" }')).toEqual([]);
  });

  it('reads a raw document defensively (an invalid zone: the schema reports it, the lint stays quiet)', () => {
    expect(lintConfig({ oncall: { timezone: 'Mars/Olympus', overrides: [{ until: '2020-01-01' }] } }, KNOWN, { now: NOW })).toEqual([]);
    expect(lintConfig({ oncall: { overrides: 'none', rotation: 5 } }, KNOWN, { now: NOW })).toEqual([]);
  });
});
