import { describe, expect, it } from 'vitest';
import { xlListV, xlRow } from '../../../test/helpers/xl-list.ts';
import { OutcomeUnknownError } from '../../core/errors.ts';
import { CommandTimeoutError } from '../ssh/deadline.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/**
 * A create the pool stopped waiting for goes on on the host (sshd ignores signals for root; the command session's
 * child runs on): a large guest's build (ballooning, disk hotplug, qemu) can outlast `ssh.commandTimeoutMs`. xl builds
 * the domain paused and unpauses it last (shared/xen-toolstack.md §1.1, §3); the simulator adds created domains running
 * at once, so a scripted runner replays what a real host lists: `states`, one list after another (the last repeats).
 */
function building(states: string[][], createCommand: RegExp) {
  const calls: string[] = [];
  let reads = 0;
  const runner: RemoteRunner = {
    run: async (_host, words): Promise<RunResult> => {
      const cmd = words.join(' ');
      calls.push(cmd);
      if (cmd === 'xl list -v') return { code: 0, stdout: xlListV(states[Math.min(reads++, states.length - 1)] ?? []), stderr: '' };
      if (cmd === 'ls -1 /etc/xen/vm') return { code: 0, stdout: 'big.cfg\n', stderr: '' };
      if (words[0] === 'ls') return { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
      if (cmd === 'cat /etc/xen/vm/big.cfg') return { code: 0, stdout: 'name = "big"\nmemory = 65536\n', stderr: '' };
      if (cmd === 'xl destroy big') return { code: 0, stdout: '', stderr: '' };
      // The pool's own timeout: the command was sent and is still running on the host.
      if (createCommand.test(cmd)) throw new CommandTimeoutError('xen1', 'xl', 30_000);
      throw new Error(`unexpected ${cmd}`);
    },
  };
  const ts = new XenToolstack(
    'xl',
    runner,
    { name: 'xen1', configDirs: ['/etc/xen/vm'], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 },
    { readBack: { attempts: 3, delayMs: 1 }, pollMs: 1, resumeWaitMs: 2_000 },
  );
  return { ts, calls };
}

const midBuild = [xlRow('big', 7, '--p---')];
const up = [xlRow('big', 7, '-b----')];

describe('a start whose xl create outlasts the command timeout', () => {
  it('watches the domain caught mid-build (paused) until it runs, and reports it started — created once', async () => {
    // Before: big is defined (not listed). After the timeout: still being built for a few reads, then it runs.
    const { ts, calls } = building([[], midBuild, midBuild, midBuild, midBuild, midBuild, up], /^xl create /);
    const r = await ts.start('big').catch((e: unknown) => e);
    // Was OutcomeUnknownError "xl create did not finish within 30 s on xen1; big is not up there (now: paused), and
    // nothing was re-run" — read back for 3 quick reads while a resumed start waits resumeWaitMs — and big ran a
    // moment later.
    expect(r).toMatchObject({ outcome: 'started', domain: { name: 'big', id: 7, status: 'blocked' } });
    expect(calls.filter((c) => c.startsWith('xl create'))).toEqual(['xl create /etc/xen/vm/big.cfg']);
  });

  it('still says the outcome is unknown when the build ends with the domain gone (libxl destroyed it)', async () => {
    const { ts, calls } = building([[], midBuild, midBuild, midBuild, midBuild, []], /^xl create /);
    const r = await ts.start('big').catch((e: unknown) => e);
    expect(r).toBeInstanceOf(OutcomeUnknownError);
    expect((r as Error).message).toBe(
      'xl create did not finish within 30 s on xen1; big is not up there (now: not running (defined)), and nothing was re-run',
    );
    expect(calls.filter((c) => c.startsWith('xl create'))).toHaveLength(1);
  });
});

describe('a forced reboot whose create outlasts the command timeout', () => {
  it('watches the new domain caught mid-build until it runs, and reports it recreated', async () => {
    const before = [xlRow('big', 3, '-b----')];
    const { ts, calls } = building([before, [], midBuild, midBuild, midBuild, midBuild, up], /^xl create /);
    const r = await ts.reboot('big', { force: true }).catch((e: unknown) => e);
    expect(r).toMatchObject({ outcome: 'recreated', previousId: 3, domain: { id: 7, status: 'blocked' } });
    expect(calls.filter((c) => /^xl (create|destroy)/.test(c))).toEqual(['xl destroy big', 'xl create /etc/xen/vm/big.cfg']);
  });
});
