import { describe, expect, it } from 'vitest';
import { fixture, fixtureNames } from '../../test/helpers/fixtures.ts';
import { runParse } from './parse-command.ts';

describe('xenops parse', () => {
  it('list prints the issue #2 JSON for the uva-sne sample', () => {
    const out = runParse('list', fixture('xl-list__uva-sne-xen-4.9.2.txt'));
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([
      { name: 'Domain-0', id: 0, memoryMiB: 15084, vcpus: 8, state: 'r-----', cpuSeconds: 633.6 },
      { name: 'guest-01', id: 4, memoryMiB: 1024, vcpus: 2, state: '-b----', cpuSeconds: 7.7 },
    ]);
    expect(out.stdout.endsWith('\n')).toBe(true);
  });

  it('top prints the last iteration with the documented field names', () => {
    const rows = JSON.parse(runParse('top', fixture('xentop-b-i2-d1__xentop-ng-xcpng-8.3.txt')).stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(9);
    expect(Object.keys(rows[0] ?? {})).toEqual([
      'name',
      'state',
      'cpuSeconds',
      'cpuPercent',
      'memoryKiB',
      'memoryPercent',
      'maxMemoryKiB',
      'maxMemoryPercent',
      'vcpus',
      'nets',
      'netTxKiB',
      'netRxKiB',
      'vbds',
      'vbdOO',
      'vbdRd',
      'vbdWr',
      'vbdRsect',
      'vbdWsect',
      'ssid',
    ]);
    expect(rows[1]).toMatchObject({ name: 'Domain-0', cpuPercent: 10.6 });
  });

  it('info prints every key with trimmed values', () => {
    const info = JSON.parse(runParse('info', fixture('xm-info__exabox-ovm-xen-4.4.4OVM.txt')).stdout) as Record<string, string>;
    expect(info['xen_changeset']).toBe('');
    expect(info['xen_caps']?.endsWith(' ')).toBe(false);
  });

  it.each([
    ['list', 'xentop-help__xentop-ng-xcpng-8.3.txt'],
    ['list', 'xm-list-long-sxp__ganeti-xen-4.0.1.txt'],
    ['top', 'xl-list__uva-sne-xen-4.9.2.txt'],
    ['info', 'xl-list__uva-sne-xen-4.9.2.txt'],
    ['info', 'xentop-help__xentop-ng-xcpng-8.3.txt'],
  ] as const)('%s refuses %s with exit 1 and a one-line reason', (kind, file) => {
    const out = runParse(kind, fixture(file));
    expect(out.exitCode).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('refuses empty input', () => {
    expect(runParse('list', '').exitCode).toBe(1);
  });

  it('every shared sample gets a definite answer from every parser (never a crash)', () => {
    for (const name of fixtureNames()) {
      for (const kind of ['list', 'top', 'info'] as const) {
        const out = runParse(kind, fixture(name));
        expect([0, 1]).toContain(out.exitCode);
        if (out.exitCode === 0) expect(() => JSON.parse(out.stdout)).not.toThrow();
      }
    }
  });
});
