import { describe, expect, it } from 'vitest';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/**
 * `xm list` on a host with an xend-managed domain that is not running (`xm new vm1`, or shut down): xend prints it with
 * a blank ID and all state flags off (XendConfig._get_old_state_string → `------`). shared/xen-toolstack.md §1.2.
 */
const XM_LIST = [
  'Name                                        ID   Mem VCPUs      State   Time(s)',
  'Domain-0                                     0  1023     1     r----- 154706.1',
  'vm1                                             512     1     ------      0.0',
  '',
].join('\n');

function scripted() {
  const calls: string[] = [];
  const runner: RemoteRunner = {
    run: async (_host, words): Promise<RunResult> => {
      const cmd = words.join(' ');
      calls.push(cmd);
      if (cmd === 'xm list') return { code: 0, stdout: XM_LIST, stderr: '' };
      if (cmd === 'timeout 10 xm list --long') return { code: 1, stdout: '', stderr: 'Error: busy\n' };
      if (words[0] === 'ls') return { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  const ts = new XenToolstack('xm', runner, {
    name: 'old',
    configDirs: [],
    consoleLogDir: '/var/log/xen/console',
    shutdownTimeoutSeconds: 5,
  });
  return { ts, calls };
}

describe('xm inactive managed domain (blank ID)', () => {
  it('is not reported as running', async () => {
    const { ts } = scripted();
    const vm1 = (await ts.list()).find((d) => d.name === 'vm1');
    expect(vm1).toMatchObject({ id: null });
    expect(vm1?.status).toBe('defined');
  });

  it('/start does not answer "already running" for it', async () => {
    const { ts } = scripted();
    const r = await ts.start('vm1').catch((e: unknown) => e);
    // No config file in the config dirs (xend keeps it): refused, saying so — not "already running".
    expect(r).not.toMatchObject({ outcome: 'already-running' });
    expect((r as Error).message).toContain('vm1 on old is an xend-managed domain (xm list shows it with no ID)');
  });
});

describe('xm shutdown of an xend-managed domain (it stays listed, inactive)', () => {
  it('reports the shutdown that happened, not "still running"', async () => {
    let down = false;
    const runner: RemoteRunner = {
      run: async (_host, words): Promise<RunResult> => {
        const cmd = words.join(' ');
        if (cmd === 'xm list') {
          const vm1 = down
            ? 'vm1                                             512     1     ------      0.0'
            : 'vm1                                          5   512     1     -b----     42.0';
          return { code: 0, stdout: `${XM_LIST.split('\n').slice(0, 2).join('\n')}\n${vm1}\n`, stderr: '' };
        }
        if (cmd === 'timeout 10 xm list --long') return { code: 1, stdout: '', stderr: 'Error: busy\n' };
        if (words[0] === 'ls') return { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
        if (cmd === 'timeout 5 xm shutdown -w vm1') {
          down = true;
          return { code: 0, stdout: 'Domain vm1 terminated\n', stderr: '' };
        }
        throw new Error(`unexpected ${cmd}`);
      },
    };
    const ts = new XenToolstack(
      'xm',
      runner,
      { name: 'old', configDirs: [], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 },
      { readBack: { attempts: 2, delayMs: 1 } },
    );
    const r = await ts.stop('vm1', { force: false }).catch((e: unknown) => (e instanceof Error ? e.message : e));
    expect(r).toMatchObject({ outcome: 'shut-down' });
  });
});
