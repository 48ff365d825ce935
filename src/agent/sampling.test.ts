import { describe, expect, it } from 'vitest';
import { domainSample } from '../../test/helpers/domain-sample.ts';
import type { DomainSample, HostSample } from '../core/samples.ts';
import type { TopRow } from './parsers/types.ts';
import { countersOf, detectChanges, pairRenames, RollupWindow, rollup, toHostSample } from './sampling.ts';

function row(name: string, over: Partial<TopRow> = {}): TopRow {
  return {
    name,
    state: '--b---',
    cpuSeconds: 100,
    cpuPercent: 1.5,
    memoryKiB: 1_048_576,
    memoryPercent: 3.1,
    maxMemoryKiB: 1_049_600,
    maxMemoryPercent: 3.1,
    vcpus: 2,
    nets: 1,
    netTxKiB: 1000,
    netRxKiB: 2000,
    vbds: 1,
    vbdOO: 0,
    vbdRd: 500,
    vbdWr: 300,
    vbdRsect: 4000,
    vbdWsect: 2400,
    ssid: 0,
    ...over,
  };
}

function dom(name: string, state = '--b---', over: Partial<DomainSample> = {}): DomainSample {
  return domainSample(name, { state, cpuSeconds: 10, ...over });
}

describe('toHostSample', () => {
  it('turns counter deltas into per-second rates over the time between iterations', () => {
    const prev = { at: 10_000, rows: [row('web')] };
    const cur = { at: 15_000, rows: [row('web', { netTxKiB: 1500, netRxKiB: 2010, vbdRd: 510, vbdWr: 301, cpuPercent: 7.25 })] };
    const s = toHostSample('xen1', prev, cur, 5);
    expect(s).toMatchObject({ host: 'xen1', at: 15_000, intervalSeconds: 5 });
    expect(s.domains).toEqual([
      {
        name: 'web',
        state: '--b---',
        cpuPercent: 7.25,
        cpuSeconds: 100,
        memoryKiB: 1_048_576,
        maxMemoryKiB: 1_049_600,
        vcpus: 2,
        netTxKiBps: 100,
        netRxKiBps: 2,
        vbdRdPerSec: 2,
        vbdWrPerSec: 0.2,
      },
    ]);
  });

  it('uses intervalSeconds when the parse times do not increase', () => {
    const s = toHostSample('xen1', { at: 5, rows: [row('web')] }, { at: 5, rows: [row('web', { netTxKiB: 1010 })] }, 2);
    expect(s.domains[0]?.netTxKiBps).toBe(5);
  });

  it('gives null rates without a previous row, on `-`, and when a counter went backwards', () => {
    const prev = { at: 0, rows: [row('web'), row('db', { vbdRd: null })] };
    const cur = {
      at: 1000,
      rows: [row('web', { netTxKiB: 10, vbdWr: null }), row('db', { vbdRd: 600 }), row('new'), row('Domain-0', { maxMemoryKiB: null })],
    };
    const [web, db, fresh, dom0] = toHostSample('xen1', prev, cur, 1).domains;
    expect(web).toMatchObject({ netTxKiBps: null, netRxKiBps: 0, vbdRdPerSec: 0, vbdWrPerSec: null });
    expect(db).toMatchObject({ vbdRdPerSec: null, vbdWrPerSec: 0 });
    expect(fresh).toMatchObject({ netTxKiBps: null, netRxKiBps: null, vbdRdPerSec: null, vbdWrPerSec: null });
    expect(dom0?.maxMemoryKiB).toBeNull();
    expect(toHostSample('xen1', null, cur, 1).domains.every((d) => d.netTxKiBps === null)).toBe(true);
  });

  it('takes the same rates from the counters kept of an iteration as from its whole rows', () => {
    const prev = { at: 0, rows: [row('web'), row('db', { vbdRd: null }), row('gone', { netTxKiB: 5 })] };
    const cur = { at: 2000, rows: [row('web', { netTxKiB: 1300, vbdWr: 340 }), row('db', { vbdRd: 600, netRxKiB: 1 })] };
    const kept = countersOf(prev);
    expect(kept.rows.every((r) => Object.keys(r).sort().join() === 'cpuSeconds,name,netRxKiB,netTxKiB,vbdRd,vbdWr')).toBe(true);
    expect(toHostSample('xen1', kept, cur, 5)).toEqual(toHostSample('xen1', prev, cur, 5));
  });
});

describe('rollup', () => {
  const sample = (at: number, domains: DomainSample[]): HostSample => ({ host: 'xen1', at, intervalSeconds: 5, domains });

  it('averages and maxes CPU, keeps the last memory and CPU seconds, averages known rates', () => {
    const point = rollup(
      [
        sample(1, [dom('web', '--b---', { cpuPercent: 10, memoryKiB: 100, cpuSeconds: 5, netTxKiBps: null, vbdRdPerSec: 4 })]),
        sample(2, [dom('web', '--b---', { cpuPercent: 30, memoryKiB: 200, cpuSeconds: 6, netTxKiBps: 3, vbdRdPerSec: 6 }), dom('db')]),
        sample(3, [dom('web', '--b---', { cpuPercent: 5, memoryKiB: 150, cpuSeconds: 7, netTxKiBps: 4, vbdRdPerSec: null })]),
      ],
      60_000,
    );
    expect(point.at).toBe(60_000);
    expect(point.domains['web']).toEqual({
      cpuAvg: 15,
      cpuMax: 30,
      memoryKiB: 150,
      cpuSeconds: 7,
      netTxKiBps: 3.5,
      netRxKiBps: null,
      vbdRdPerSec: 5,
      vbdWrPerSec: null,
    });
    expect(point.domains['db']).toMatchObject({ cpuAvg: 1, cpuMax: 1, memoryKiB: 1024 });
  });

  it('is empty for an empty window', () => {
    expect(rollup([], 7)).toEqual({ at: 7, domains: {} });
  });

  it('folds as the samples arrive (RollupWindow): a point part-way is the rollup of the samples so far', () => {
    const samples = [1, 2, 3].map((at) => sample(at, [dom('web', '--b---', { cpuPercent: at * 10, netTxKiBps: at === 2 ? null : at })]));
    const window = new RollupWindow();
    window.add(samples[0] as HostSample);
    window.add(samples[1] as HostSample);
    expect(window.point(9)).toEqual(rollup(samples.slice(0, 2), 9));
    window.add(samples[2] as HostSample);
    expect(window.size).toBe(3);
    expect(window.point(10)).toEqual(rollup(samples, 10));
    expect(window.point(10).domains['web']).toMatchObject({ cpuAvg: 20, cpuMax: 30, netTxKiBps: 2 });
  });
});

describe('detectChanges', () => {
  it('reports of the first sample (the baseline) only the domains already crashed: a crash while no agent watched', () => {
    expect(detectChanges(null, [dom('web')])).toEqual([]);
    // on_crash="preserve" keeps it crashed: no transition would ever be seen.
    expect(detectChanges(null, [dom('web', '---c--'), dom('db'), dom('Domain-0', '---c--')])).toEqual([{ kind: 'crashed', domain: 'web' }]);
  });

  it('reports appeared and disappeared domains, ignoring Domain-0 and xl migration names', () => {
    const prev = [dom('Domain-0', '-----r'), dom('web'), dom('db'), dom('mail--migratedaway')];
    const cur = [dom('web'), dom('files'), dom('files2--incoming')];
    expect(detectChanges(prev, cur)).toEqual([
      { kind: 'appeared', domain: 'files' },
      { kind: 'disappeared', domain: 'db' },
    ]);
  });

  it('reports crashed only on the transition into the c state', () => {
    expect(detectChanges([dom('web', '--b---')], [dom('web', '---c--')])).toEqual([{ kind: 'crashed', domain: 'web' }]);
    expect(detectChanges([dom('web', '---c--')], [dom('web', '---c--')])).toEqual([]);
    // `c` elsewhere in the string means something else (s = shutdown is position 1).
    expect(detectChanges([dom('web')], [dom('web', '-s----')])).toEqual([]);
    expect(detectChanges([], [dom('web', '---c--')])).toEqual([
      { kind: 'appeared', domain: 'web' },
      { kind: 'crashed', domain: 'web' },
    ]);
    expect(detectChanges([dom('Domain-0', '-----r')], [dom('Domain-0', '---c--')])).toEqual([]);
  });
});

describe('pairRenames (xl rename: the same UUID and domain id under a new name)', () => {
  const known = new Map([
    ['web', { uuid: 'u-web', id: 7 }],
    ['db', { uuid: 'u-db', id: 8 }],
  ]);
  const gone = (domain: string) => ({ kind: 'disappeared' as const, domain });
  const came = (domain: string) => ({ kind: 'appeared' as const, domain });
  const running = (uuid: string | null, id: number | null) => ({ uuid, id, status: 'blocked' as const });

  it('GIVEN web gone and www come with web’s UUID and id THEN www is web renamed', () => {
    const listed = new Map([['www', running('u-web', 7)]]);
    expect(pairRenames([gone('web'), came('www')], listed, known)).toEqual(new Map([['www', 'web']]));
  });

  it('GIVEN no list before, another id, another UUID, or the old name still running THEN no rename', () => {
    expect(pairRenames([gone('web'), came('www')], new Map([['www', running('u-web', 7)]]), null).size).toBe(0);
    // Destroyed, and another guest created from a config with its uuid line: a new domain id.
    expect(pairRenames([gone('web'), came('www')], new Map([['www', running('u-web', 12)]]), known).size).toBe(0);
    expect(pairRenames([gone('web'), came('www')], new Map([['www', running('u-other', 7)]]), known).size).toBe(0);
    expect(pairRenames([gone('web'), came('www')], new Map([['www', running(null, 7)]]), known).size).toBe(0);
    const both = new Map([
      ['www', running('u-web', 7)],
      ['web', running('u-web', 7)],
    ]);
    expect(pairRenames([gone('web'), came('www')], both, known).size).toBe(0);
  });
});

describe('RollupWindow.rename', () => {
  it('GIVEN a guest renamed within the window THEN the point holds its figures under the new name alone', () => {
    const w = new RollupWindow();
    const s = (name: string, cpuPercent: number | null): HostSample => ({
      host: 'xen1',
      at: 0,
      intervalSeconds: 1,
      domains: [domainSample(name, { cpuPercent })],
    });
    w.add(s('web', 10));
    w.rename('web', 'www');
    w.add(s('www', 30));
    expect(Object.keys(w.point(1).domains)).toEqual(['www']);
    expect(w.point(1).domains['www']).toMatchObject({ cpuAvg: 20, cpuMax: 30 });
  });
});
