import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHandler } from '../src/agent/handlers.ts';
import type { SshPool } from '../src/agent/ssh/pool.ts';
import type { RemoteRunner, RunResult } from '../src/agent/ssh/types.ts';
import { XenToolstack } from '../src/agent/toolstack/driver.ts';
import type { Toolstack } from '../src/agent/toolstack/types.ts';
import { Config } from '../src/config/schema.ts';
import { renderContext } from '../src/core/define-command.ts';
import { simToolstack } from '../test/helpers/drivers.ts';
import { fixture } from '../test/helpers/fixtures.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../test/helpers/sim.ts';
import { info } from './info.ts';

/**
 * `xl info` exits 0 whatever part of it failed: output_physinfo and output_xeninfo print "libxl_physinfo failed." /
 * "libxl_get_version_info failed." on stderr and return, main_info returns 0 (X: tools/xl/xl_info.c). /info must say
 * so, not show a host with no CPUs and no memory as if that were all there is to it.
 */
let env: SimEnv;
let pool: SshPool;

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet() });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

const config = Config.parse({ hosts: { xen1: { address: '127.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });

/** /info HOST as the operator reads it: title and every text block and field, one per line. */
async function infoText(host: string, ts: Toolstack): Promise<{ text: string; tone: string }> {
  const result = await runHandler(
    {
      op: 'host.info',
      host,
      meta: { requestId: 'r', person: 'p', platform: 'terminal', userId: 'u', channelId: 'c', command: 'info' },
    },
    { config, toolstack: async () => ts, op: {} },
  );
  const reply = info.render([{ host, ok: true, result }] as never, { host }, renderContext());
  const lines = reply.blocks.flatMap((b) =>
    b.type === 'text' ? [b.text] : b.type === 'fields' ? b.fields.map((f) => `${f.name}: ${f.value}`) : [],
  );
  return { text: [reply.title, ...lines].join('\n'), tone: reply.tone };
}

describe('/info of a host whose xl info failed part-way (exit 0)', () => {
  it('GIVEN xl info prints nothing, exit 0, "libxl_physinfo failed." on stderr THEN the reply says so', async () => {
    env.sim.faults.failNext('xen1', { match: /^xl info$/, code: 0, stderr: 'libxl_physinfo failed.\n' });
    const { text, tone } = await infoText('xen1', simToolstack(pool, 'xen1'));
    expect(env.sim.log.query({ host: 'xen1', match: /^xl info$/ }).map((e) => e.fault?.kind)).toEqual(['fail']);
    expect(text).toBe('xen1 (xl)\n⚠ xen1: xl info printed no figures (its output was empty; it said on stderr: libxl_physinfo failed.)');
    expect(tone).toBe('warning');
  });

  it('GIVEN the physinfo part missing (stderr "libxl_physinfo failed.") THEN the reply names what is missing and why', async () => {
    const full = fixture('xl-info__xensifter-test-xen-4.18.0.txt');
    // What output_physinfo prints: nr_cpus … free_cpus.
    const partial = full.replace(/^nr_cpus[\s\S]*?^free_cpus.*\n/m, '');
    expect(partial).not.toContain('nr_cpus');
    const runner: RemoteRunner = {
      run: async (_host, words): Promise<RunResult> => {
        if (words.join(' ') === 'xl info') return { code: 0, stdout: partial, stderr: 'libxl_physinfo failed.\n' };
        throw new Error(`unexpected ${words.join(' ')}`);
      },
    };
    const ts = new XenToolstack('xl', runner, {
      name: 'xen1',
      configDirs: ['/etc/xen'],
      consoleLogDir: '/var/log/xen/console',
      shutdownTimeoutSeconds: 5,
    });
    const { text, tone } = await infoText('xen1', ts);
    expect(text).toContain('xen_version: 4.18.0');
    expect(text.split('\n').at(-1)).toBe('⚠ xen1: xl info printed no nr_cpus, total_memory (it said on stderr: libxl_physinfo failed.)');
    expect(tone).toBe('warning');
  });

  it('GIVEN a whole xl info THEN no warning', async () => {
    const { text, tone } = await infoText('xen1', simToolstack(pool, 'xen1'));
    expect(text).not.toContain('⚠');
    expect(tone).toBe('info');
  });
});

describe('/status of a host whose xl info failed part-way (exit 0)', () => {
  it('GIVEN xl info prints nothing, exit 0, "libxl_physinfo failed." THEN the host status carries a note: memory unknown is explained', async () => {
    env.sim.faults.failNext('xen1', { match: /^xl info$/, code: 0, stderr: 'libxl_physinfo failed.\n' });
    const result = await runHandler(
      {
        op: 'host.status',
        host: 'xen1',
        meta: { requestId: 'r', person: 'p', platform: 'terminal', userId: 'u', channelId: 'c', command: 'status' },
      },
      { config, toolstack: async () => simToolstack(pool, 'xen1'), op: {} },
    );
    expect(env.sim.log.query({ host: 'xen1', match: /^xl info$/ }).at(-1)?.fault?.kind).toBe('fail');
    expect({ total: result.totalMemoryMiB, notes: result.notes }).toEqual({
      total: null,
      notes: ['xl info printed no figures (its output was empty; it said on stderr: libxl_physinfo failed.)'],
    });
  });
});
