import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { top } from '../../../commands/top.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../../../test/helpers/sim.ts';
import { Config } from '../../config/schema.ts';
import { type HostOutcome, renderContext } from '../../core/define-command.ts';
import type { Reply } from '../../core/reply.ts';
import { runHandler } from '../handlers.ts';
import type { SshPool } from '../ssh/pool.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/** A one-shot /top (no live sample) whose xentop printed what the parser could not read: said, never an empty table. */
const HEAD =
  '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID';
const row = (name: string, cpu: string) =>
  `${name.padStart(10)} --b---       2084 ${cpu.padStart(6)}    1048576   12.5    1048576      12.5     1    1        0        0    1        0        0        0          0          0    0`;

const config = Config.parse({ hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });
const NOW = Date.now();
const text = (r: Reply) => r.blocks.map((b) => ('text' in b ? b.text : '')).join('\n');

async function topOf(ts: XenToolstack): Promise<HostOutcome<'host.top'>> {
  const meta = { requestId: 'r', person: 'p', platform: 'terminal' as const, userId: 'u', channelId: 'c', command: 'top' };
  const result = await runHandler({ op: 'host.top', host: 'xen1', meta }, { config, toolstack: async () => ts, op: {}, now: () => NOW });
  return { host: 'xen1', ok: true, result, agent: null, frozen: null };
}

function answering(stdout: string): XenToolstack {
  const runner: RemoteRunner = {
    run: async (_h, words): Promise<RunResult> =>
      words[0] === 'xentop' ? { code: 0, stdout, stderr: '' } : { code: 1, stdout: '', stderr: 'not asked\n' },
  };
  return new XenToolstack('xl', runner, { name: 'xen1', configDirs: [], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 });
}

describe('a one-shot /top whose xentop output could not all be read', () => {
  let env: SimEnv;
  let pool: SshPool;
  beforeAll(async () => {
    env = await startSimEnv({ fleet: twoHostFleet() });
    pool = env.pool();
  });
  afterAll(async () => env?.stop());

  it('GIVEN xentop exits 0 having printed nothing THEN /top says xentop printed no table, not an empty table alone', async () => {
    env.sim.faults.failNext('xen1', { match: /^xentop/, code: 0, stderr: '' });
    const ts = new XenToolstack('xl', pool, {
      name: 'xen1',
      configDirs: ['/etc/xen/vm'],
      consoleLogDir: '/var/log/xen/console',
      shutdownTimeoutSeconds: 5,
    });
    const outcome = await topOf(ts);
    expect(outcome.ok && outcome.result.domains).toEqual([]);
    expect(outcome.ok && outcome.result.notes).toEqual(['xentop printed no domain rows (its output was empty)']);
    const r = top.render([outcome], { chart: false }, renderContext({ now: NOW }));
    expect(text(r)).toContain('⚠ xen1: xentop printed no domain rows (its output was empty)');
    expect(r.tone).toBe('warning');
  });

  it('GIVEN xentop fails (xenstat not initialised) THEN the host fails with its message, no empty table', async () => {
    env.sim.faults.failNext('xen1', { match: /^xentop/, code: 1, stderr: 'Failed to initialize xenstat library\n' });
    const ts = new XenToolstack('xl', pool, {
      name: 'xen1',
      configDirs: [],
      consoleLogDir: '/var/log/xen/console',
      shutdownTimeoutSeconds: 5,
    });
    await expect(topOf(ts)).rejects.toThrow(/Failed to initialize xenstat library/);
  });

  it('GIVEN garbled rows beside good ones THEN they are counted and the first quoted, cut short', async () => {
    const garbled = `${'x'.repeat(200)} --b--- garbage`;
    const out = [
      HEAD,
      row('Domain-0', '0.0'),
      row('web', '0.0'),
      HEAD,
      row('Domain-0', '3.0'),
      garbled,
      'web --b--- 1.6.2 ???',
      row('web', '9.0'),
    ];
    const outcome = await topOf(answering(`${out.join('\n')}\n`));
    expect(outcome.ok && outcome.result.domains.map((d) => d.name)).toEqual(['Domain-0', 'web']);
    const notes = outcome.ok ? (outcome.result.notes ?? []) : [];
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^could not read 2 lines of xentop, so guests may be missing here \(the first: x{60,80}…\)$/);
    expect(text(top.render([outcome], { chart: false }, renderContext({ now: NOW })))).toContain(
      '⚠ xen1: could not read 2 lines of xentop',
    );
  });

  it('GIVEN a header variant it does not know THEN the table is empty and the reply says why', async () => {
    const head = HEAD.replace('CPU(%)', 'CPU%');
    const out = [head, 'Domain-0 -----r 393575 0.0 9357356 1.2 9437184 1.2 4 0 0 0 0 0 0 0 0 0 0 extra', head, 'Domain-0 r 1 1'];
    const outcome = await topOf(answering(`${out.join('\n')}\n`));
    expect(outcome.ok && outcome.result.domains).toEqual([]);
    expect(outcome.ok && outcome.result.notes).toEqual([
      expect.stringMatching(/^could not read 4 lines of xentop, so guests may be missing here \(the first: .+…\)$/),
      'xentop printed no domain rows (no header it knows)',
    ]);
  });

  it('GIVEN output it reads whole THEN no note', async () => {
    const out = [HEAD, row('Domain-0', '0.0'), HEAD, row('Domain-0', '3.0')];
    const outcome = await topOf(answering(`${out.join('\n')}\n`));
    expect(outcome.ok && outcome.result.notes).toBeUndefined();
  });
});
