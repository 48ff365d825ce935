import { describe, expect, it } from 'vitest';
import { XL_DOM0_ROW, XL_LIST_V_HEADER, xlRow } from '../../../test/helpers/xl-list.ts';
import { OutcomeUnknownError, RemoteCommandError, UserError } from '../../core/errors.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/**
 * Lifecycle states the simulator never shows but a real xl host does (shared/xen-toolstack.md §1.1, §3), replayed by
 * scripted runners:
 * - every domain xl builds — `xl create`, and the re-create xl's monitor does when a guest reboots — exists paused
 *   (`--p---`) until the build is over and xl unpauses it; a build can still fail (hotplug script, bootloader), after
 *   which libxl destroys the half-made domain. The simulator adds rebooted / created domains as `-b----` at once.
 * - `xl shutdown -w` returns once the guest has shut down (`Domain N has been shut down, reason code 0`; `-ww` waits
 *   for death): the domain then reads `---s--` until it is reaped. The simulator's `-w` returns only once it is gone.
 * - a crashed domain kept by on_crash="preserve" (`--psc-`) cannot act on a shutdown request: it stays as it is.
 *   The simulator powers it off.
 */
const listing = (rows: string[]) => ({ code: 0, stdout: `${[XL_LIST_V_HEADER, XL_DOM0_ROW, ...rows].join('\n')}\n`, stderr: '' });

/** A host whose `xl list -v` answers from `states` one read after another (the last repeats); `other` answers the rest. */
function scripted(states: string[][], other: (cmd: string) => RunResult | Promise<RunResult> | undefined, shutdownTimeoutSeconds = 1) {
  const calls: string[] = [];
  let reads = 0;
  const runner: RemoteRunner = {
    run: async (_host, words): Promise<RunResult> => {
      const cmd = words.join(' ');
      calls.push(cmd);
      if (cmd === 'xl list -v') return listing(states[Math.min(reads++, states.length - 1)] ?? []);
      if (cmd === 'ls -1 /etc/xen/vm') return { code: 0, stdout: 'web.cfg\n', stderr: '' };
      if (words[0] === 'ls') return { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
      if (cmd === 'cat /etc/xen/vm/web.cfg') return { code: 0, stdout: 'name = "web"\nmemory = 1024\n', stderr: '' };
      const r = await other(cmd);
      if (r) return r;
      throw new Error(`unexpected ${cmd}`);
    },
  };
  const ts = new XenToolstack(
    'xl',
    runner,
    { name: 'xen1', configDirs: ['/etc/xen/vm'], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds },
    { readBack: { attempts: 3, delayMs: 1 }, pollMs: 1, resumeWaitMs: 50 },
  );
  return { ts, calls };
}

describe('a reboot whose re-create is caught mid-build', () => {
  it('is not reported as "rebooted" from the paused, half-built new domain (the build then fails)', async () => {
    // Read 1: before. Then the guest goes down for the reboot, xl's monitor builds the new domain (id 4, paused),
    // the build fails (say the vif hotplug script) and libxl destroys it: web is gone.
    const { ts } = scripted(
      [
        [xlRow('web', 3, '-b----', { cpuSeconds: 3 })],
        [xlRow('web', 3, '---sr-', { reason: '1', cpuSeconds: 3 })],
        [xlRow('web', 4, '--p---', { cpuSeconds: 3 })],
        [],
      ],
      (cmd) => (cmd === 'xl reboot web' ? { code: 0, stdout: '', stderr: 'Rebooting domain 3\n' } : undefined),
    );
    const r = await ts.reboot('web', { force: false }).catch((e: unknown) => e);
    // Was { outcome: 'rebooted', evidence: 'new-id', domain: { id: 4, status: 'paused' } } — "web rebooted" while
    // web is down: `back` accepts isUp(), which counts paused.
    expect(r).not.toMatchObject({ outcome: 'rebooted' });
    expect(r).toBeInstanceOf(RemoteCommandError);
    expect((r as Error).message).toMatch(/web went down for the reboot but is not running again/);
  });
});

describe('a forced reboot whose create lost its connection mid-build', () => {
  it('is not reported as "recreated" from the paused, half-built domain the read-back caught', async () => {
    let created = false;
    const { ts } = scripted(
      // before; after destroy: gone; after the lost create: mid-build (paused, id 5), then the build fails: gone.
      [[xlRow('web', 3, '-b----', { cpuSeconds: 3 })], [], [xlRow('web', 5, '--p---', { cpuSeconds: 3 })], []],
      (cmd) => {
        if (cmd === 'xl destroy web') return { code: 0, stdout: '', stderr: '' };
        if (cmd === 'xl create /etc/xen/vm/web.cfg') {
          created = true;
          throw new OutcomeUnknownError('xen1', 'the connection to xen1 was lost while xl ran; its outcome is unknown');
        }
        return undefined;
      },
    );
    const r = await ts.reboot('web', { force: true }).catch((e: unknown) => e);
    expect(created).toBe(true);
    // Was { outcome: 'recreated', domain: { id: 5, status: 'paused' } }: the fix of create-midbuild.test.ts (start()
    // uses started(), not isUp()) was not carried over to recreate().
    expect(r).not.toMatchObject({ outcome: 'recreated' });
    expect(r).toBeInstanceOf(OutcomeUnknownError);
  });
});

describe('xl shutdown -w returns when the guest has shut down, before it is reaped', () => {
  it('a guest that powered off as asked is not reported as a failed stop because it reads ---s-- for a few seconds', async () => {
    // -w returned: "Domain 3 has been shut down, reason code 0". The domain reads ---s-- (reason 0, poweroff) for the
    // next reads — xl's monitor is destroying it (a large guest takes seconds to release its memory) — then is gone.
    const down = [xlRow('web', 3, '---s--', { reason: '0', cpuSeconds: 3 })];
    const { ts } = scripted([[xlRow('web', 3, '-b----', { cpuSeconds: 3 })], down, down, down, down, down, []], (cmd) =>
      cmd === 'timeout 1 xl shutdown -w web'
        ? { code: 0, stdout: '', stderr: 'Shutting down domain 3\nWaiting for 1 domains\nDomain 3 has been shut down, reason code 0\n' }
        : undefined,
    );
    const r = await ts.stop('web', { force: false }).catch((e: unknown) => e);
    // Was RemoteCommandError "xl shutdown web returned, but web is still shutdown on xen1; check its console": the
    // read-back after a returned -w lasts readBack (attempts × delay, 2 s by default), as if -w waited for death.
    expect(r).toMatchObject({ outcome: 'shut-down' });
  });
});

describe('graceful stop of a crashed domain kept by on_crash="preserve"', () => {
  it('is refused up front (a crashed guest cannot act on a shutdown request), pointing at force', async () => {
    const crashed = [xlRow('web', 3, '--psc-', { reason: '3', cpuSeconds: 3 })];
    const { ts, calls } = scripted([crashed], (cmd) =>
      cmd === 'timeout 1 xl shutdown -w web'
        ? // libxl writes control/shutdown and reports the shutdown it already sees (reason 3, crash); web stays as it is.
          { code: 0, stdout: '', stderr: 'Shutting down domain 3\nWaiting for 1 domains\nDomain 3 has been shut down, reason code 3\n' }
        : undefined,
    );
    const r = await ts.stop('web', { force: false }).catch((e: unknown) => e);
    // Was: `timeout 1 xl shutdown -w web` sent, then "xl shutdown web returned, but web is still crashed on xen1;
    // check its console" (the simulator instead powers the crashed guest off: "web shut down").
    expect(calls.filter((c) => c.includes('shutdown'))).toEqual([]);
    expect(r).toBeInstanceOf(UserError);
    expect((r as Error).message).toMatch(/crashed.*force/);
  });
});
