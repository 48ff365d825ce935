import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';

/**
 * /status as two people see one host of twelve guests: alice (admin) and wendy, whose permission reaches `files*`
 * alone. `files` is the host's least busy guest (the simulator's guests burn CPU by their vCPUs), below the ten the
 * agent ranks first; Domain-0 runs beside them.
 */

const prefix = uniquePrefix();
let env: SimEnv;
let agent: Agent;
let bot: Bot;
let redis: Redis;
const adapter = new CaptureAdapter('terminal');
const APPS = Array.from({ length: 11 }, (_, i) => ({
  name: `app${String(i + 1).padStart(2, '0')}`,
  memoryMiB: 512,
  vcpus: 12 - i,
  running: true,
}));

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: { toolstack: 'xl', domains: [...APPS, { name: 'files', memoryMiB: 512, vcpus: 1, running: true }] },
        // Domain-0 alone: no guest at all.
        bare: { toolstack: 'xl', domains: [] },
      },
    },
    timeScale: 0.05,
  });
  const config = Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: {
      admin: { allow: ['*'] },
      filesteam: { allow: [{ permission: 'host.status', hosts: ['xen1'], domains: ['files*'] }] },
    },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice' } },
      wendy: { roles: ['filesteam'], identities: { terminal: 'wendy' } },
    },
    channels: [{ platform: 'terminal', id: '*' }],
    audit: { file: `/tmp/${prefix}-audit.jsonl` },
    bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000 },
    approvals: { enabled: false },
    sampling: { enabled: true, intervalSeconds: 1 },
  });
  redis = new Redis(REDIS_URL);
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await bot.start();
  await sampledWithCpu(new SampleStore(redis, prefix), 'xen1', 12, 20_000);
  await sampledWithCpu(new SampleStore(redis, prefix), 'bare', 0, 20_000);
}, 60_000);

afterAll(async () => {
  await bot?.stop();
  await agent?.close(2_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
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

async function statusFor(id: string, person: string): Promise<Reply> {
  const req = chatRequest(id, 'status', person);
  await bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

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
