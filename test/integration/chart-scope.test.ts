import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { renderHostChart } from '../../src/app/charts.ts';
import type { HistoryFigures, HistoryPoint } from '../../src/core/samples.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { operatorsScene } from '../helpers/operators.ts';
import { REDIS_URL } from '../helpers/redis.ts';

/**
 * A person whose read permissions reach only some domains of a host (`files*` on xen2) gets /top and /digest with the
 * other domains left out — the chart attached to the reply too: it is drawn from her domains of the host's history,
 * not every domain's (names in its legend, their CPU and memory).
 */

function figures(cpuAvg: number, memoryMiB: number): HistoryFigures {
  return {
    cpuAvg,
    cpuMax: cpuAvg,
    memoryKiB: memoryMiB * 1024,
    cpuSeconds: 100,
    netTxKiBps: null,
    netRxKiBps: null,
    vbdRdPerSec: null,
    vbdWrPerSec: null,
  };
}

/** Ten minutes of xen2's history (as its sampler writes it), ending a minute ago. */
const now = Date.now();
const points: HistoryPoint[] = Array.from({ length: 10 }, (_, i) => ({
  at: now - (10 - i) * 60_000,
  domains: { 'Domain-0': figures(3, 2048), files: figures(10 + i, 4096), backup: figures(60 - i, 512) },
}));
/** What she may see of it. */
const hers: HistoryPoint[] = points.map((p) => ({ at: p.at, domains: { files: p.domains['files'] as HistoryFigures } }));

const scene = operatorsScene(
  {
    hosts: {
      xen2: {
        toolstack: 'xl',
        domains: [
          { name: 'files', memoryMiB: 4096, vcpus: 1, running: true },
          { name: 'backup', memoryMiB: 512, vcpus: 1, running: true },
        ],
      },
    },
  },
  {
    roles: {
      filesteam: {
        allow: [
          { permission: 'host.top', hosts: ['xen2'], domains: ['files*'] },
          { permission: 'host.digest', hosts: ['xen2'], domains: ['files*'] },
        ],
      },
    },
    people: { wendy: { roles: ['filesteam'], identities: { terminal: 'wendy' } } },
    // The history below is the only one: no sampler writes beside it.
    sampling: { enabled: false },
  },
  async (prefix) => {
    const redis = new Redis(REDIS_URL);
    try {
      const store = new SampleStore(redis, prefix);
      for (const p of points) await store.pushHistory('xen2', p, 1000);
    } finally {
      redis.disconnect();
    }
  },
);

const ask = (id: string, line: string) => scene.ask(id, line, 'wendy');

/** The PNG attached to a reply. */
function chartOf(final: Awaited<ReturnType<typeof ask>>): Buffer {
  const png = final.attachments?.find((a) => a.contentType === 'image/png');
  if (!png) throw new Error('no chart attached');
  return Buffer.from(png.data as Uint8Array);
}

describe('charts for a person whose reads reach some domains of a host only', () => {
  it('/top xen2 chart:true charts only the domains the table shows her', async () => {
    const final = await ask('chart-scope-top', 'top xen2 chart:true');
    // The table: files only (backup and Domain-0 are left out for her).
    expect(JSON.stringify(final.blocks)).toContain('files');
    expect(JSON.stringify(final.blocks)).not.toContain('backup');
    expect(chartOf(final).equals(Buffer.from(await renderHostChart('xen2', hers)))).toBe(true);
  }, 60_000);

  it('/digest xen2 does the same', async () => {
    const final = await ask('chart-scope-digest', 'digest xen2');
    expect(JSON.stringify(final.blocks)).not.toContain('backup');
    const sent = chartOf(final);
    expect(sent.equals(Buffer.from(await renderHostChart('xen2', hers)))).toBe(true);
    // Not the whole host's chart (which the same bytes would be, drawn from every domain).
    expect(sent.equals(Buffer.from(await renderHostChart('xen2', points)))).toBe(false);
  }, 60_000);
});
