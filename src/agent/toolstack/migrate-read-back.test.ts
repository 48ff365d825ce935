import { describe, expect, it } from 'vitest';
import { xlListV, xlRow } from '../../../test/helpers/xl-list.ts';
import { OutcomeUnknownError } from '../../core/errors.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/**
 * The read-back after `xl migrate` answers with an error (the target's `xl list` exits 1: xl cannot init its
 * context, xenstored busy…). The migration was sent and may well have moved the guest: the list's failure says
 * nothing about where it is. It used to surface as the job's own failure, "✖ Migration of web failed — xl list -v
 * on xen2 exited 1", while web ran on xen2.
 */
const SUCCESS = [
  'migration target: Ready to receive domain.',
  'migration sender: Target reports successful startup.',
  'Migration successful.',
  '',
].join('\n');

function fleet() {
  const sent: string[] = [];
  let moved = false;
  let targetListFails = false;
  const runner: RemoteRunner = {
    run: async (host, words, options): Promise<RunResult> => {
      const cmd = words.join(' ');
      if (cmd === 'xl list -v') {
        if (host === 'xen2' && targetListFails) return { code: 1, stdout: '', stderr: 'cannot init xl context\n' };
        const web = [xlRow('web', host === 'xen1' ? 3 : 12, '-b----', { memoryMiB: 2048 })];
        return { code: 0, stdout: xlListV((host === 'xen1') !== moved ? web : []), stderr: '' };
      }
      if (words[0] === 'ls') return { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
      if (cmd === 'xl migrate web xen2') {
        sent.push(cmd);
        moved = true;
        targetListFails = true;
        options?.onStderr?.(SUCCESS);
        return { code: 0, stdout: '', stderr: SUCCESS };
      }
      throw new Error(`unexpected ${cmd}`);
    },
  };
  const host = (name: string) =>
    new XenToolstack(
      'xl',
      runner,
      { name, configDirs: [], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 },
      { resumeWaitMs: 0, pollMs: 1, readBack: { attempts: 1, delayMs: 0 } },
    );
  return {
    source: host('xen1'),
    target: { host: 'xen2', address: 'xen2', verify: () => host('xen2').list() },
    sent,
    failTargetList: () => {
      moved = true;
      targetListFails = true;
    },
  };
}

describe("a migration whose read-back the target's xl list refuses", () => {
  it('is an unknown outcome that says xl migrate reported success, not a failed migration', async () => {
    const f = fleet();
    const r = await f.source.migrate('web', f.target).catch((e: unknown) => e);
    expect(r).toBeInstanceOf(OutcomeUnknownError);
    expect((r as Error).message).toBe(
      'xl migrate was sent to xen1 and reported success, but xl list -v on xen2 exited 1: cannot init xl context; nothing was re-run — check both hosts',
    );
    expect(f.sent).toEqual(['xl migrate web xen2']);
  });

  it('resumed after an agent restart, the same read-back failure is an unknown outcome too', async () => {
    const f = fleet();
    f.failTargetList();
    const r = await f.source.verifyMigrate('web', { host: 'xen2', verify: f.target.verify }).catch((e: unknown) => e);
    expect(r).toBeInstanceOf(OutcomeUnknownError);
    expect((r as Error).message).toContain('xl migrate was sent to xen1 before the agent restarted, but xl list -v on xen2 exited 1');
    expect(f.sent).toEqual([]);
  });
});
