import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../src/agent/agent.ts';
import { runHandler } from '../src/agent/handlers.ts';
import type { RemoteRunner, RunResult } from '../src/agent/ssh/types.ts';
import { XenToolstack } from '../src/agent/toolstack/driver.ts';
import { createBot } from '../src/app/bot.ts';
import type { Config } from '../src/config/schema.ts';
import { renderContext } from '../src/core/define-command.ts';
import { formatTable, type Reply } from '../src/core/reply.ts';
import { CaptureAdapter } from '../test/helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../test/helpers/redis.ts';
import { chatRequest, targetOf } from '../test/helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv, twoHostFleet } from '../test/helpers/sim.ts';
import { uptime } from './uptime.ts';

/**
 * `xl uptime` exits 0 whatever it left out: with libxl_list_vm failing it prints the header and Domain-0, then
 * "Could not list vms." on stderr, and returns (X: tools/xl/xl_info.c print_uptime); a guest whose start time cannot
 * be read is skipped. /uptime must say so, not show Domain-0 alone (or nothing at all) as if no guest ran.
 */
let env: SimEnv;
let config: Config;
let bot: Awaited<ReturnType<typeof createBot>>;
let agent: Agent;
const adapter = new CaptureAdapter();
const prefix = uniquePrefix();

beforeAll(async () => {
  env = await startSimEnv({ timeScale: 0.05, fleet: twoHostFleet() });
  const base = simBotConfig(env, prefix, REDIS_URL);
  config = { ...base, sampling: { ...base.sampling, enabled: false } };
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
  await bot.start();
}, 30_000);

afterAll(async () => {
  await bot?.stop();
  await agent?.close(1_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

const text = (r: Reply) =>
  [r.title, ...r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : 'text' in b ? b.text : ''))].join('\n');

describe('/uptime when xl uptime exited 0 without its rows', () => {
  it('GIVEN xl uptime printing nothing, exit 0, "Could not list vms." on stderr THEN the reply says so', async () => {
    env.sim.faults.failNext('xen1', { match: /^xl uptime$/, code: 0, stderr: 'Could not list vms.\n' });
    const r = chatRequest('uptime-partial-1', 'uptime xen1');
    await bot.core.handle(r, targetOf(r));
    const reply = await adapter.finalReply(r.id);
    expect(env.sim.log.query({ host: 'xen1', match: /^xl uptime$/ }).map((e) => e.fault?.kind)).toEqual(['fail']);
    expect(text(reply).split('\n').at(-1)).toBe(
      '⚠ xen1: xl uptime printed no rows (its output was empty; it said on stderr: Could not list vms.)',
    );
    expect(reply.tone).toBe('warning');
  });

  it('GIVEN the header and Domain-0, then "Could not list vms." THEN Domain-0 is shown and the stderr line said', async () => {
    const runner: RemoteRunner = {
      run: async (_host, words): Promise<RunResult> => {
        if (words.join(' ') !== 'xl uptime') throw new Error(`unexpected ${words.join(' ')}`);
        const stdout = `${'Name'.padEnd(33)} ${'ID'.padStart(4)} Uptime\n${'Domain-0'.padEnd(33)} ${'0'.padStart(4)} 98 days,  2:27:44\n`;
        return { code: 0, stdout, stderr: 'Could not list vms.\n' };
      },
    };
    const ts = new XenToolstack('xl', runner, {
      name: 'xen1',
      configDirs: ['/etc/xen'],
      consoleLogDir: '/var/log/xen/console',
      shutdownTimeoutSeconds: 5,
    });
    const result = await runHandler(
      {
        op: 'host.uptime',
        host: 'xen1',
        meta: { requestId: 'r', person: 'p', platform: 'terminal', userId: 'u', channelId: 'c', command: 'uptime' },
      },
      { config, toolstack: async () => ts, op: {} },
    );
    const reply = uptime.render([{ host: 'xen1', ok: true, result }] as never, {} as never, renderContext());
    const body = text(reply);
    expect(body).toMatch(/xen1\s+Domain-0\s+0\s+98d 2h 27m/);
    expect(body.split('\n').at(-1)).toBe('⚠ xen1: xl uptime exited 0 but it said on stderr: Could not list vms.');
    expect(reply.tone).toBe('warning');
  });

  it('GIVEN a whole xl uptime THEN no warning', async () => {
    const r = chatRequest('uptime-partial-3', 'uptime xen1');
    await bot.core.handle(r, targetOf(r));
    const reply = await adapter.finalReply(r.id);
    expect(text(reply)).not.toContain('⚠');
    expect(text(reply)).toMatch(/xen1\s+web\s+\d+\s/);
    expect(reply.tone).toBe('success');
  });
});
