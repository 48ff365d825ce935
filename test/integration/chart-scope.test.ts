import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { renderHostChart } from '../../src/app/charts.ts';
import { Config } from '../../src/config/schema.ts';
import type { HistoryFigures, HistoryPoint } from '../../src/core/samples.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';

/**
 * A person whose read permissions reach only some domains of a host (`files*` on xen2) gets /top and /digest with the
 * other domains left out — the chart attached to the reply too: it is drawn from her domains of the host's history,
 * not every domain's (names in its legend, their CPU and memory).
 */

const prefix = uniquePrefix();
let env: SimEnv;
let agent: Agent;
let bot: Bot;
let redis: Redis;
const adapter = new CaptureAdapter('terminal');

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

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
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
    timeScale: 0.05,
  });
  const config = Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: {
      filesteam: {
        allow: [
          { permission: 'host.top', hosts: ['xen2'], domains: ['files*'] },
          { permission: 'host.digest', hosts: ['xen2'], domains: ['files*'] },
        ],
      },
    },
    people: { wendy: { roles: ['filesteam'], identities: { terminal: 'wendy' } } },
    channels: [{ platform: 'terminal', id: '*' }],
    audit: { file: `/tmp/${prefix}-audit.jsonl` },
    bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000 },
    approvals: { enabled: false },
    // The history below is the only one: no sampler writes beside it.
    sampling: { enabled: false },
  });
  redis = new Redis(REDIS_URL);
  const store = new SampleStore(redis, prefix);
  for (const p of points) await store.pushHistory('xen2', p, 1000);
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await bot.start();
}, 60_000);

afterAll(async () => {
  await bot?.stop();
  await agent?.close(2_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis?.disconnect();
});

async function ask(id: string, line: string) {
  const req = chatRequest(id, line, 'wendy');
  await bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

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
