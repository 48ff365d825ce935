import { describe, expect, it } from 'vitest';
import { top as topCommand } from '../../../commands/top.ts';
import { xlListV, xlRow } from '../../../test/helpers/xl-list.ts';
import { Config } from '../../config/schema.ts';
import { renderContext } from '../../core/define-command.ts';
import { runHandler } from '../handlers.ts';
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

/** A driver whose host answers `xentop` and `xl list -v` with these outputs. */
function driverAnswering(top: string, list: string): XenToolstack {
  const runner: RemoteRunner = {
    run: async (_h, words): Promise<RunResult> => {
      const cmd = words.join(' ');
      if (cmd.startsWith('xentop')) return { code: 0, stdout: top, stderr: '' };
      if (cmd === 'xl list -v') return { code: 0, stdout: list, stderr: '' };
      return { code: 2, stdout: '', stderr: 'ls: cannot access: No such file or directory\n' };
    },
  };
  return new XenToolstack('xl', runner, { name: 'h', configDirs: [], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 });
}

describe('xentop name mapping with a 10-character name that prefixes another', () => {
  it('maps neither row to webserver10: xentop prints both as webserver1', async () => {
    const rows = (await driverAnswering(TOP, LIST).topTable()).rows;
    // Which row is which cannot be told: both stay as printed, never both called webserver10.
    expect(rows.map((r) => r.name)).toEqual(['webserver1', 'webserver1']);
  });
});

describe('xentop name mapping with a space as the tenth character', () => {
  it('names the row after the guest (`Ubuntu 22 LTS`, printed `Ubuntu 22 `), not its first nine characters', async () => {
    // xl allows spaces in names; the ten characters xentop prints end in one.
    const printed = 'Ubuntu 22 LTS'.slice(0, 10);
    const iteration = (cpu: string) => `${HEAD}\n${line('Domain-0', '1.0')}\n${line(printed, cpu)}\n`;
    const ts = driverAnswering(`${iteration('0.0')}${iteration('37.5')}`, xlListV([xlRow('Ubuntu 22 LTS', 3, '-b----')]));
    const rows = (await ts.topTable()).rows;
    expect(rows.map((r) => [r.name, r.cpuPercent])).toEqual([
      ['Domain-0', 1],
      ['Ubuntu 22 LTS', 37.5],
    ]);
  });
});

describe('xentop name mapping: which names stay cut', () => {
  const iteration = (names: string[], cpu: string) => `${HEAD}\n${names.map((n) => line(n, cpu)).join('\n')}\n`;
  const top = (names: string[]) => `${iteration(names, '0.0')}${iteration(names, '5.0')}`;

  it('leaves a name shorter than 10 characters as printed: `web` is the whole name, not the start of `webserver-a`', async () => {
    const ts = driverAnswering(top(['web', 'webserver-']), xlListV([xlRow('web', 2, '-b----'), xlRow('webserver-a', 3, '-b----')]));
    const table = await ts.topTable();
    expect(table.rows.map((r) => r.name)).toEqual(['web', 'webserver-a']);
    expect(table.cut).toBeUndefined();
  });

  it('says which rows no list named: the two printed alike, and one the list does not know', async () => {
    const ts = driverAnswering(top(['webserver1', 'webserver1', 'mailserver']), LIST);
    const table = await ts.topTable();
    expect(table.rows.map((r) => r.name)).toEqual(['webserver1', 'webserver1', 'mailserver']);
    expect(table.cut?.sort()).toEqual(['mailserver', 'webserver1']);
  });
});

describe('/top without a fresh sample (one xentop run), on a host whose xentop cuts names', () => {
  it('shows a name no list named as cut (`webserver1…`), a name the list named in full', async () => {
    const config = Config.parse({ hosts: { h: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });
    const meta = { requestId: 'r', person: 'p', platform: 'terminal' as const, userId: 'u', channelId: 'c', command: 'top' };
    const top = `${HEAD}\n${line('webserver1', '0.0')}\n${line('databases-', '0.0')}\n${HEAD}\n${line('webserver1', '2.0')}\n${line('databases-', '1.0')}\n`;
    const list = xlListV([xlRow('webserver1', 3, '-b----'), xlRow('webserver10', 4, '-b----'), xlRow('databases-main', 5, '-b----')]);
    const ts = driverAnswering(top, list);
    const result = await runHandler({ op: 'host.top', host: 'h', meta }, { config, toolstack: async () => ts, op: {} });
    expect(result.domains.map((d) => [d.name, d.nameCut ?? false])).toEqual([
      ['webserver1', true],
      ['databases-main', false],
    ]);
    const outcome = { host: 'h', ok: true as const, result, agent: null, frozen: null };
    const blocks = topCommand.render([outcome], { chart: false }, renderContext({ now: 0 })).blocks;
    const names = blocks.flatMap((b) => (b.type === 'table' ? b.table.rows.map((r) => r[1]) : []));
    expect(names).toEqual(['webserver1…', 'databases-main']);
  });
});
