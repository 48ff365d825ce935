import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/**
 * `xm list` has no UUID column: the driver reads them from `xm list --long` (xend's SXP, shared/xen-toolstack.md §1.3).
 * When that output cannot be read the list still answers, by name, and says that the UUIDs are missing.
 */
const LONG = fixture('xm-list-long-sxp__ganeti-xen-4.0.1.txt');
const XM_LIST = [
  'Name                                        ID   Mem VCPUs      State   Time(s)',
  'Domain-0                                     0  1023     1     r----- 154706.1',
  'instance1.example.com                       119  1024     1     -b----   1203.4',
  '',
].join('\n');
/** xend died mid-answer: the Python traceback lands where the SXP should be. */
const TRACEBACK = [
  'Traceback (most recent call last):',
  `  File "/usr/lib/xen-4.0/lib/python/xen/xm/main.py", line 3620, in main ${'x'.repeat(400)}`,
  'Error: (111, Connection refused)',
  '',
].join('\n');

function host(long: string) {
  const warned: { fields: Record<string, unknown>; message: string }[] = [];
  const runner: RemoteRunner = {
    run: async (_host, words): Promise<RunResult> => {
      const cmd = words.join(' ');
      if (cmd === 'xm list') return { code: 0, stdout: XM_LIST, stderr: '' };
      if (cmd === 'timeout 10 xm list --long') return { code: 0, stdout: long, stderr: '' };
      if (cmd === 'xm info')
        return { code: 0, stdout: 'host : xen1\nnr_cpus : 4\nmemory : 8191\nxen_major : 4\nxen_minor : 0\n', stderr: '' };
      if (words[0] === 'ls') return { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
      throw new Error(`unexpected ${cmd}`);
    },
  };
  const logger = { warn: (fields: Record<string, unknown>, message: string) => void warned.push({ fields, message }) };
  const ts = new XenToolstack(
    'xm',
    runner,
    { name: 'xen1', configDirs: [], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 },
    { logger: logger as never },
  );
  return { ts, warned };
}

describe('xm list --long that cannot be read', () => {
  it('GIVEN xend SXP it reads THEN the UUIDs are there and nothing is said', async () => {
    const { ts, warned } = host(LONG);
    const { domains, notes } = await ts.inventory();
    expect(domains.find((d) => d.name === 'instance1.example.com')?.uuid).toBe('e430b4b8-dc91-9390-dfe0-b83c138ea0aa');
    expect(notes).toEqual([]);
    expect(warned).toEqual([]);
  });

  it('GIVEN a traceback instead of SXP THEN /list and /status say in one short line that the UUIDs are unknown', async () => {
    const { ts } = host(TRACEBACK);
    const { domains, notes } = await ts.inventory();
    // The list itself still answers: the UUIDs are only missing, never guessed.
    expect(domains.map((d) => [d.name, d.uuid])).toEqual([
      ['Domain-0', null],
      ['instance1.example.com', null],
    ]);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(
      /^could not read xm list --long, so its domains' UUIDs are unknown \(they are matched by name\): xm list -l: /,
    );
    expect(notes[0]).toContain('(line 2: "  File');
    expect(notes[0]).not.toContain('\n');
    expect(notes[0]?.length).toBeLessThan(320);
    expect((await ts.infoAndList()).notes).toEqual(notes);
  });

  it('GIVEN a cut-off SXP THEN logs it once, with the host and a short excerpt, however often the list is read', async () => {
    const { ts, warned } = host(LONG.slice(0, LONG.indexOf('(name instance1')));
    await ts.list();
    await ts.list();
    expect(warned).toHaveLength(1);
    expect(warned[0]?.fields).toMatchObject({ host: 'xen1' });
    expect(String(warned[0]?.fields['err'])).toMatch(/^xm list -l: /);
    expect(String(warned[0]?.fields['err']).length).toBeLessThanOrEqual(200);
    expect(warned[0]?.message).toContain('xm list --long could not be read');
  });
});
