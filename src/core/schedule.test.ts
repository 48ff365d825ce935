import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { cronProblem, describeWhen, formatInterval, newScheduleId, parseInterval, parseWhen } from './schedule.ts';

const HOSTS = ['xen1', 'xen2'];

describe('intervals', () => {
  it('reads 5s, 10m, 1h30m and 1d, and nothing else', () => {
    expect(parseInterval('5s')).toBe(5_000);
    expect(parseInterval('10m')).toBe(600_000);
    expect(parseInterval('1h30m')).toBe(5_400_000);
    expect(parseInterval('1D')).toBe(86_400_000);
    for (const bad of ['5', 's', '5 s', '-5s', '5x', '1.5h', '']) expect(parseInterval(bad)).toBeNull();
    expect(formatInterval(5_400_000)).toBe('1h30m');
  });
});

describe('parseWhen', () => {
  it('GIVEN status every 5s THEN a 5 s schedule of the fleet status', () => {
    expect(parseWhen('status every 5s', undefined, HOSTS)).toEqual({ ok: true, what: 'status', host: null, when: { every: 5_000 } });
  });

  it('GIVEN top with a host and a cron pattern in a zone THEN all three', () => {
    expect(parseWhen('top xen2 cron */15 * * * *', 'Europe/Berlin', HOSTS)).toEqual({
      ok: true,
      what: 'top',
      host: 'xen2',
      when: { cron: '*/15 * * * *', tz: 'Europe/Berlin' },
    });
    expect(describeWhen({ cron: '0 8 * * 1-5', tz: 'UTC' })).toBe('cron 0 8 * * 1-5 (UTC)');
  });

  it.each([
    ['reboot every 5s', 'what to post: one of status, top, digest, not "reboot"'],
    ['status xen1 every 5s', 'status takes no host: "xen1"'],
    ['top xen9 every 5s', 'unknown host "xen9" (hosts: xen1, xen2)'],
    ['status every 1s', 'the interval must be from 5s to 7d'],
    ['status every soon', '"soon" is not an interval: e.g. 30s, 5m, 1h, 1d'],
    ['status cron * * *', 'a cron pattern has 5 fields (minute hour day month weekday), got 3: e.g. "*/15 * * * *"'],
    ['status cron 0 8 * * $(reboot)', '"0 8 * * $(reboot)" is not a cron pattern that runs: Validation error, cannot resolve alias "reb"'],
    // Accepted before and refused only by BullMQ when the scheduler was made (an internal error; a bot that would not start).
    ['status cron 61 * * * *', '"61 * * * *" is not a cron pattern that runs: Constraint error, got value 61 expected range 0-59'],
    ['status cron 0 0 31 2 *', '"0 0 31 2 *" is not a cron pattern that runs: Invalid explicit day of month definition'],
    ['status cron */0 * * * *', '"*/0 * * * *" is not a cron pattern that runs: Constraint error, cannot repeat at every 0 time.'],
    // Seconds: as often as "every 1s", which is refused.
    ['status cron * * * * * *', '"* * * * * *" would post 1s apart: posts must be at least 5s apart'],
    ['status cron 0,1 0 * * * *', '"0,1 0 * * * *" would post 1s apart: posts must be at least 5s apart'],
    ['status', 'say when: every <interval> or cron "<pattern>"'],
  ])('GIVEN %j THEN %j', (text, problem) => {
    expect(parseWhen(text, undefined, HOSTS)).toEqual({ ok: false, problem });
  });

  it('GIVEN an unknown zone or a zone on an interval THEN a reason', () => {
    expect(parseWhen('digest cron 0 8 * * *', 'Mars/Olympus', HOSTS)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('unknown time zone'),
    });
    expect(parseWhen('digest every 1d', 'UTC', HOSTS)).toEqual({ ok: false, problem: 'tz: applies to cron schedules only' });
  });
});

describe('ids', () => {
  it('are S + 5 characters without look-alikes', () => {
    expect(newScheduleId(() => 0)).toBe('SAAAAA');
    expect(newScheduleId()).toMatch(/^S[A-HJ-NP-Z2-9]{5}$/);
    expect(cronProblem('0 8 * * MON-FRI')).toBeNull();
    expect(cronProblem('*/5 * * * * *')).toBeNull();
    expect(cronProblem('0 8 29 2 *', 'Europe/Berlin')).toBeNull();
  });
});

describe('the cron parser', () => {
  it('is the version BullMQ runs its schedulers with: a pattern checked here is read the same way there', () => {
    const require = createRequire(import.meta.url);
    const bullmq = require('bullmq/package.json') as { dependencies: Record<string, string> };
    const ours = require('../../package.json') as { dependencies: Record<string, string> };
    const installed = require('cron-parser/package.json') as { version: string };
    expect(ours.dependencies['cron-parser']).toBe(bullmq.dependencies['cron-parser']);
    expect(installed.version).toBe(bullmq.dependencies['cron-parser']);
  });
});

describe('parseWhen quoting what was typed', () => {
  it('escapes control and bidi characters in its reasons, as every other argument reason does', () => {
    const problems = [
      parseWhen('status\u001b[2J every 5m', undefined, ['xen1']),
      parseWhen('top xen1\u202e every 5m', undefined, ['xen1']),
      parseWhen('status every 5\u0007m', undefined, ['xen1']),
      parseWhen('status cron "0 8 * * *"', 'Europe/\u001b[31mBerlin', ['xen1']),
    ].map((r) => (r.ok ? '' : r.problem));
    expect(problems).toEqual([
      'what to post: one of status, top, digest, not "status\\u001b[2J"',
      'unknown host "xen1\\u202e" (hosts: xen1)',
      '"5\\u0007m" is not an interval: e.g. 30s, 5m, 1h, 1d',
      'unknown time zone "Europe/\\u001b[31mBerlin": use an IANA name such as Europe/Berlin',
    ]);
  });
});
