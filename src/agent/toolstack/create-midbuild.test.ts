import { describe, expect, it } from 'vitest';
import { XL_DOM0_ROW, XL_LIST_V_HEADER, xlRow } from '../../../test/helpers/xl-list.ts';
import { OutcomeUnknownError } from '../../core/errors.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/**
 * `xl create` builds a domain paused and unpauses it only once the build is over (libxl__domain_make … then
 * libxl_domain_unpause; `-p` leaves it paused): while it runs, `xl list` shows the new domain as `--p---`. When the
 * connection is lost mid-create (README: "an unknown outcome that is resolved by reading the state"), that mid-build
 * state is what the read-back sees — and a build can still fail (a hotplug script, the bootloader), after which libxl
 * destroys the half-made domain. Scripted runner: the simulator creates domains in one step.
 */

function midBuildHost() {
  let created = false;
  let readsAfter = 0;
  const calls: string[] = [];
  const runner: RemoteRunner = {
    run: async (_host, words): Promise<RunResult> => {
      const cmd = words.join(' ');
      calls.push(cmd);
      if (cmd === 'xl list -v') {
        if (!created) return { code: 0, stdout: `${XL_LIST_V_HEADER}\n${XL_DOM0_ROW}\n`, stderr: '' };
        // The first read after the lost connection catches the build (paused); then the build fails and it is gone.
        readsAfter++;
        const rows = readsAfter === 1 ? [xlRow('mail', 7, '--p---')] : [];
        return { code: 0, stdout: `${XL_LIST_V_HEADER}\n${XL_DOM0_ROW}\n${rows.join('\n')}\n`, stderr: '' };
      }
      if (cmd === 'ls -1 /etc/xen/vm') return { code: 0, stdout: 'mail.cfg\n', stderr: '' };
      if (words[0] === 'ls') return { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
      if (cmd === 'cat /etc/xen/vm/mail.cfg') return { code: 0, stdout: 'name = "mail"\nmemory = 1024\n', stderr: '' };
      if (cmd === 'xl create /etc/xen/vm/mail.cfg') {
        created = true;
        throw new OutcomeUnknownError('xen1', 'the connection to xen1 was lost while xl ran; its outcome is unknown');
      }
      throw new Error(`unexpected ${cmd}`);
    },
  };
  const ts = new XenToolstack(
    'xl',
    runner,
    { name: 'xen1', configDirs: ['/etc/xen/vm'], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 },
    { readBack: { attempts: 10, delayMs: 1 }, pollMs: 1 },
  );
  return { ts, calls };
}

describe('a start whose connection was lost mid-create', () => {
  it('is not reported as "started" from the paused, half-built domain the read-back caught', async () => {
    const { ts } = midBuildHost();
    const r = await ts.start('mail').catch((e: unknown) => e);
    // Was { outcome: 'started', status paused } — "mail started on xen1, id 7, state paused (read back from the
    // host)" — while the next read found no mail at all: an unknown outcome, nothing created again.
    expect(r).toBeInstanceOf(OutcomeUnknownError);
    expect((r as Error).message).toMatch(/mail is not up there/);
  });
});
