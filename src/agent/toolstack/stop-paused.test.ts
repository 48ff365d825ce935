import { describe, expect, it } from 'vitest';
import { XL_DOM0_ROW, XL_LIST_V_HEADER, xlRow } from '../../../test/helpers/xl-list.ts';
import { UserError } from '../../core/errors.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/**
 * A graceful /stop of a paused guest. `xl shutdown` only writes control/shutdown in xenstore (shared/xen-toolstack.md
 * §3): a paused guest's vCPUs do not run, so it cannot act on it — `xl shutdown -w` waits until `timeout` kills it
 * (exit 124) — and the request stays pending: the guest powers off whenever it is next unpaused. The driver already
 * knows this for reboot ("a paused guest cannot act on a reboot request — unpause it first…", refused, nothing sent).
 * Scripted runner: the simulator powers paused guests off on request (unlike its own reboot).
 */

function pausedHost() {
  const calls: string[] = [];
  const runner: RemoteRunner = {
    run: async (_host, words): Promise<RunResult> => {
      const cmd = words.join(' ');
      calls.push(cmd);
      if (cmd === 'xl list -v')
        return { code: 0, stdout: `${XL_LIST_V_HEADER}\n${XL_DOM0_ROW}\n${xlRow('web', 3, '--p---')}\n`, stderr: '' };
      if (words[0] === 'ls') return { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
      // The paused guest never acts on the request: `timeout` ends the wait.
      if (cmd === 'timeout 5 xl shutdown -w web')
        return { code: 124, stdout: '', stderr: 'Shutting down domain 3\nWaiting for 1 domains\n' };
      throw new Error(`unexpected ${cmd}`);
    },
  };
  const ts = new XenToolstack(
    'xl',
    runner,
    { name: 'xen1', configDirs: [], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 },
    { readBack: { attempts: 2, delayMs: 1 }, pollMs: 1 },
  );
  return { ts, calls };
}

describe('graceful stop of a paused domain', () => {
  it('is refused up front (like reboot), leaving no shutdown request pending for the next unpause', async () => {
    const { ts, calls } = pausedHost();
    const r = await ts.stop('web', { force: false }).catch((e: unknown) => e);
    // Was: `timeout 5 xl shutdown -w web` sent, waited out, and the reply blaming a hung guest:
    // "web did not shut down within 5 s on xen1 (now: paused); if its console shows it is hung, …".
    expect(calls.filter((c) => c.includes('shutdown'))).toEqual([]);
    expect(r).toBeInstanceOf(UserError);
    expect((r as Error).message).toMatch(/web is paused on xen1: .*unpause it first, or stop it with force; nothing was sent/);
  });
});
