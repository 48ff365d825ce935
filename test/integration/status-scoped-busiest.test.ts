import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { operatorsScene } from '../helpers/operators.ts';
import { REDIS_URL } from '../helpers/redis.ts';

/**
 * /status as two people see one host of twelve guests: alice (admin) and wendy, whose permission reaches `files*`
 * alone. `files` is the host's least busy guest (the simulator's guests burn CPU by their vCPUs), below the ten the
 * agent ranks first; Domain-0 runs beside them.
 */

let redis: Redis;
const APPS = Array.from({ length: 11 }, (_, i) => ({
  name: `app${String(i + 1).padStart(2, '0')}`,
  memoryMiB: 512,
  vcpus: 12 - i,
  running: true,
}));

const scene = operatorsScene(
  {
    hosts: {
      xen1: { toolstack: 'xl', domains: [...APPS, { name: 'files', memoryMiB: 512, vcpus: 1, running: true }] },
      // Domain-0 alone: no guest at all.
      bare: { toolstack: 'xl', domains: [] },
    },
  },
  {
    roles: {
      admin: { allow: ['*'] },
      filesteam: { allow: [{ permission: 'host.status', hosts: ['xen1'], domains: ['files*'] }] },
    },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice' } },
      wendy: { roles: ['filesteam'], identities: { terminal: 'wendy' } },
    },
    sampling: { enabled: true, intervalSeconds: 1 },
  },
);

// After the scene's own beforeAll: the agent is sampling by then.
beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  await sampledWithCpu(new SampleStore(redis, scene.prefix), 'xen1', 12, 20_000);
  await sampledWithCpu(new SampleStore(redis, scene.prefix), 'bare', 0, 20_000);
}, 60_000);

afterAll(() => {
  redis?.disconnect();
});

/** Until the agent's latest sample of the host (kept in Redis) gives every guest a CPU% (its second iteration on). */
async function sampledWithCpu(store: SampleStore, host: string, guests: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sample = (await store.latest([host]))[host];
    const read = (sample?.domains ?? []).filter((d) => d.name !== 'Domain-0' && d.cpuPercent !== null && d.cpuPercent > 0);
    if (sample && read.length === guests) return;
    if (Date.now() > deadline) throw new Error(`no full sample of ${host} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const statusFor = (id: string, person: string): Promise<Reply> => scene.ask(id, 'status', person);

const busiestOf = (r: Reply) => {
  const t = r.blocks.find((b) => b.type === 'table' && b.caption?.startsWith('Busiest domains'));
  return t?.type === 'table' ? t.table.rows.map((row) => `${row[0]} on ${row[1]}`) : [];
};
const hostRowOf = (r: Reply, host: string) => {
  const t = r.blocks.find((b) => b.type === 'table' && b.table.columns[0] === 'host');
  return t?.type === 'table' ? t.table.rows.find((row) => row[0] === host) : undefined;
};
const body = (r: Reply) => r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : 'text' in b ? b.text : '')).join('\n');

describe('/status for a person scoped to some guests of a host', () => {
  it('GIVEN her guest ranks below the ten busiest of its host THEN it is ranked for her, not "no guest in the samples"', async () => {
    const r = await statusFor('status-scoped-busiest-1', 'wendy');
    expect(body(r)).not.toContain('No guest in the live samples');
    expect(busiestOf(r)).toEqual(['files on xen1']);
  }, 30_000);

  it('GIVEN Domain-0 runs on the host THEN the running count is of guests alike for the admin and for her', async () => {
    const admin = await statusFor('status-scoped-busiest-2', 'alice');
    expect(hostRowOf(admin, 'xen1')?.[2]).toBe('12 running');
    expect(hostRowOf(admin, 'bare')?.[2]).toBe('none');
    expect(busiestOf(admin)).toEqual(['app01', 'app02', 'app03', 'app04', 'app05'].map((n) => `${n} on xen1`));
    const wendy = await statusFor('status-scoped-busiest-3', 'wendy');
    expect(hostRowOf(wendy, 'xen1')?.[2]).toBe('1 running');
  }, 30_000);
});
