import { describe, expect, it } from 'vitest';
import { withCapacity } from '../src/app/capacity.ts';
import { sparklineText } from '../src/app/charts.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { renderContext } from '../src/core/define-command.ts';
import { decide } from '../src/core/pipeline.ts';
import { type CapacityReading, describeUnplaced, type Guest, planRebalance } from '../src/core/placement.ts';
import { type Block, formatTable } from '../src/core/reply.ts';
import type { DomainSample } from '../src/core/samples.ts';
import { pipelineScene } from '../test/helpers/pipeline-scene.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { hostAnswer } from '../test/helpers/status-outcomes.ts';
import { rebalanceBlocks } from './rebalance.ts';
import { top } from './top.ts';

/**
 * Sizes an operator reads are in MiB, GiB or TiB (render-helpers' mib(), as /status, /list and /show give them): /top
 * printed a 64 GiB guest as `65536M`, /evacuate and /rebalance a 4 TiB host as `4194304 MiB`, a chart's text `mem
 * 65536 MiB`.
 */
const tables = (blocks: readonly Block[]) => blocks.flatMap((b) => (b.type === 'table' ? [b.table] : []));
const texts = (blocks: readonly Block[] | undefined) => (blocks ?? []).flatMap((b) => (b.type === 'text' ? [b.text] : []));

function sample(name: string, memoryKiB: number): DomainSample {
  return {
    name,
    state: '--b---',
    cpuPercent: 1,
    cpuSeconds: 10,
    memoryKiB,
    maxMemoryKiB: null,
    vcpus: 2,
    netTxKiBps: null,
    netRxKiBps: null,
    vbdRdPerSec: null,
    vbdWrPerSec: null,
  };
}

describe('sizes shown outside /status', () => {
  it('GIVEN guests of 64 GiB, 1.5 GiB and 512 MiB THEN /top shows them so, right-aligned in their column', () => {
    const outcome = hostAnswer<'host.top'>({
      host: 'xen1',
      live: true,
      sampledAt: 0,
      domains: [sample('big', 64 * 1024 * 1024), sample('mid', 1536 * 1024), sample('small', 512 * 1024)],
    });
    const [table] = tables(top.render([outcome], { chart: false }, renderContext({ now: 0 })).blocks);
    if (!table) throw new Error('no table');
    expect(table.rows.map((r) => r[4])).toEqual(['64 GiB', '1.5 GiB', '512 MiB']);
    const lines = formatTable(table).split('\n');
    const memEnd = (lines[0] ?? '').indexOf('mem') + 'mem'.length;
    // Right-aligned: every figure ends where the longest one does.
    const ends = lines.slice(1).map((l) => {
      const m = /\d+(?:\.\d)? [MGT]iB/.exec(l);
      return m ? m.index + m[0].length : -1;
    });
    expect(new Set(ends).size).toBe(1);
    expect(ends[0]).toBeGreaterThanOrEqual(memEnd);
  });

  it('GIVEN an evacuation onto 4 TiB hosts THEN the plan gives its sizes in GiB and TiB', () => {
    const { ctx } = pipelineScene(['xen1', 'xen2']);
    const g = (name: string, memoryMiB: number): Guest => ({ name, memoryMiB, cpuPercent: 0, status: 'blocked' });
    const reading: CapacityReading = {
      at: Date.UTC(2026, 0, 5, 12, 0, 3),
      reserveMiB: 512,
      hosts: {
        xen1: { host: 'xen1', toolstack: 'xl', totalMiB: 4 * 1024 * 1024, freeMiB: 1024, guests: [g('db', 262144)], cpuSampledAt: null },
        xen2: { host: 'xen2', toolstack: 'xl', totalMiB: 4 * 1024 * 1024, freeMiB: 2 * 1024 * 1024, guests: [], cpuSampledAt: null },
      },
      unanswered: {},
      frozen: {},
    };
    const d = decide(ctx, chatRequest('r1', 'evacuate xen1', 'alice'), withCapacity(new FleetCache(['xen1', 'xen2']), reading), true);
    if (d.kind !== 'enqueue') throw new Error(`expected a plan, got ${d.kind}`);
    const [plan] = tables(d.summary ?? []);
    expect(plan?.rows).toEqual([['1', 'db', '256 GiB', 'xen2', '2 TiB', '1.8 TiB']]);
    const said = texts(d.summary).join('\n');
    expect(said).toContain('every target keeps 512 MiB free');
    expect(said).toContain('xen2 2 TiB free of 4 TiB → 1.8 TiB after');
    expect(said).not.toMatch(/\d{5,} MiB/);
  });

  it('GIVEN a guest that fits nowhere THEN why is said in GiB', () => {
    expect(describeUnplaced({ domain: 'web', memoryMiB: 6144, needMiB: 6656, best: { host: 'xen3', freeMiB: 4096 } } as never, 512)).toBe(
      'web (6 GiB) fits nowhere: it needs 6.5 GiB free (6 GiB + 512 MiB reserve); the most free on a target is 4 GiB on xen3',
    );
  });

  it('GIVEN a rebalance of 64 GiB hosts THEN its tables give GiB', () => {
    const g = (name: string, memoryMiB: number): Guest => ({ name, memoryMiB, cpuPercent: 0, status: 'blocked' });
    const plan = planRebalance(
      [
        { host: 'xen1', toolstack: 'xl', totalMiB: 65536, freeMiB: 8192, guests: [g('a', 24576), g('b', 16384), g('c', 14336)] },
        { host: 'xen2', toolstack: 'xl', totalMiB: 65536, freeMiB: 61440, guests: [] },
      ],
      { reserveMiB: 512 },
    );
    const blocks = rebalanceBlocks(plan, 512, []);
    const [hosts, moves] = tables(blocks);
    expect(hosts?.rows[0]?.slice(1, 4)).toEqual([
      '56 GiB (88%)',
      expect.stringMatching(/^\d+(\.\d)? GiB \(\d+%\)$/),
      expect.stringMatching(/ GiB$/),
    ]);
    expect(moves?.rows.every((r) => / GiB$/.test(r[2] ?? ''))).toBe(true);
    expect(texts(blocks).join('\n')).toContain('every target keeps 512 MiB free');
  });

  it('GIVEN a 64 GiB guest in the history THEN the chart text says mem 64 GiB', () => {
    const figures = {
      cpuAvg: 5,
      cpuMax: 9,
      memoryKiB: 64 * 1024 * 1024,
      cpuSeconds: 1,
      netTxKiBps: null,
      netRxKiBps: null,
      vbdRdPerSec: null,
      vbdWrPerSec: null,
    };
    const points = [0, 60_000].map((at) => ({ at, domains: { big: figures } }));
    expect(sparklineText('xen1', points, { now: 60_000 })).toMatch(/big .* mem 64 GiB$/m);
  });
});
