import { describe, expect, it } from 'vitest';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/** xentop without -f cuts names to 10 characters: `webserver1` (10, the whole name) and `webserver10` (11) both print as `webserver1`. */
const HEAD =
  '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID';
const line = (name: string, cpu: string) =>
  `${name.padStart(10)} --b---       2084 ${cpu.padStart(6)}    1048576   12.5    1048576      12.5     1    1        0        0    1        0        0        0          0          0    0`;
const TOP = `${HEAD}\n${line('webserver1', '0.0')}\n${line('webserver1', '0.0')}\n${HEAD}\n${line('webserver1', '90.0')}\n${line('webserver1', '1.0')}\n`;
const LIST = [
  'Name                                        ID   Mem VCPUs\tState\tTime(s)',
  'Domain-0                                     0  2048     4     r-----    100.0',
  'webserver1                                   3  1024     1     -b----     12.0',
  'webserver10                                  4  1024     1     -b----     12.0',
  '',
].join('\n');

describe('xentop name mapping with a 10-character name that prefixes another', () => {
  it('maps neither row to webserver10: xentop prints both as webserver1', async () => {
    const runner: RemoteRunner = {
      run: async (_h, words): Promise<RunResult> => {
        const cmd = words.join(' ');
        if (cmd.startsWith('xentop')) return { code: 0, stdout: TOP, stderr: '' };
        if (cmd === 'xl list -v') return { code: 0, stdout: LIST, stderr: '' };
        return { code: 2, stdout: '', stderr: 'ls: cannot access: No such file or directory\n' };
      },
    };
    const ts = new XenToolstack('xl', runner, {
      name: 'h',
      configDirs: [],
      consoleLogDir: '/var/log/xen/console',
      shutdownTimeoutSeconds: 5,
    });
    const rows = await ts.top();
    // Which row is which cannot be told: both stay as printed, never both called webserver10.
    expect(rows.map((r) => r.name)).toEqual(['webserver1', 'webserver1']);
  });
});
