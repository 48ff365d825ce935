import { describe, expect, it } from 'vitest';
import { XL_DOM0_ROW, XL_LIST_V_HEADER, xlRow } from '../../../test/helpers/xl-list.ts';
import { OutcomeUnknownError } from '../../core/errors.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/**
 * `xl migrate` ending in xl's failed_badly branch (tools/xl/xl_migrate.c): exit 1, "** Migration failed during final
 * handshake ** Domain state is now undefined ! Please CHECK AT BOTH ENDS…". The source is left as NAME--migratedaway
 * (suspended, not destroyed); the target may or may not have renamed NAME--incoming to NAME and started it.
 */
const FAILED_BADLY = [
  'migration target: Ready to receive domain.',
  'Saving to migration stream new xl format (info 0x3/0x0/1444)',
  'migration target: Transfer complete, requesting permission to start domain.',
  'migration sender: Target has acknowledged transfer.',
  'migration sender: Giving target permission to start.',
  '** Migration failed during final handshake **',
  'Domain state is now undefined !',
  'Please CHECK AT BOTH ENDS for running instances, before renaming and',
  ' resuming at most one instance.  Two simultaneous instances of the domain',
  ' would probably result in SEVERE DATA LOSS and it is now your',
  ' responsibility to avoid that.  Sorry.',
  '',
].join('\n');

function fleet(sourceRows: string[], targetRows: string[]) {
  let migrated = false;
  const runner: RemoteRunner = {
    run: async (host, words, options): Promise<RunResult> => {
      const cmd = words.join(' ');
      if (cmd === 'xl list -v') {
        const rows =
          host === 'xen1'
            ? migrated
              ? sourceRows
              : [xlRow('web', 3, '-b----', { memoryMiB: 2048, vcpus: 2, cpuSeconds: 12 })]
            : migrated
              ? targetRows
              : [];
        return { code: 0, stdout: `${XL_LIST_V_HEADER}\n${XL_DOM0_ROW}\n${rows.join('\n')}\n`, stderr: '' };
      }
      if (cmd === 'xl migrate web xen2') {
        migrated = true;
        options?.onStderr?.(FAILED_BADLY);
        return { code: 1, stdout: '', stderr: FAILED_BADLY };
      }
      if (words[0] === 'ls') return { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
      throw new Error(`unexpected ${cmd}`);
    },
  };
  const host = (name: string) =>
    new XenToolstack(
      'xl',
      runner,
      { name, configDirs: [], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 },
      { resumeWaitMs: 0, pollMs: 1 },
    );
  const to = { host: 'xen2', address: 'xen2', verify: () => host('xen2').list() };
  return { source: host('xen1'), target: to };
}

describe('a migration ending in "failed during final handshake"', () => {
  it('is not reported as a verified success while web--migratedaway is left on the source', async () => {
    const { source, target } = fleet(
      [xlRow('web--migratedaway', 3, '---ss-', { memoryMiB: 2048, vcpus: 2, cpuSeconds: 12 })],
      [xlRow('web', 9, '-b----', { memoryMiB: 2048, vcpus: 2, cpuSeconds: 12 })],
    );
    const r = await source.migrate('web', target).catch((e: unknown) => e);
    // The resumed path (verifyMigrate) calls exactly this state "did not end cleanly — check both hosts".
    expect(r).toBeInstanceOf(OutcomeUnknownError);
    expect((r as Error).message).toContain(
      'the migration of web to xen2 did not end cleanly (** Migration failed during final handshake **): xen1: web--migratedaway',
    );
    expect((r as Error).message).toContain('xen2: blocked — check both hosts before resuming or renaming either');
  });

  it('is not reported as a plain failure ("not moved") when the guest is on neither host under its name', async () => {
    const { source, target } = fleet(
      [xlRow('web--migratedaway', 3, '---ss-', { memoryMiB: 2048, vcpus: 2, cpuSeconds: 12 })],
      [xlRow('web--incoming', 9, '--p---', { memoryMiB: 2048, vcpus: 2, cpuSeconds: 12 })],
    );
    const r = await source.migrate('web', target).catch((e: unknown) => e);
    expect(r).toBeInstanceOf(OutcomeUnknownError);
    expect((r as Error).message).toContain('xen2: web--incoming paused');
  });

  it('a leftover of an earlier such migration on the source is refused before anything is sent', async () => {
    let migrated = false;
    const runner: RemoteRunner = {
      run: async (host, words): Promise<RunResult> => {
        const cmd = words.join(' ');
        if (cmd === 'xl list -v') {
          const rows =
            host === 'xen1'
              ? [
                  xlRow('web', 3, '-b----', { memoryMiB: 2048, vcpus: 2, cpuSeconds: 12 }),
                  xlRow('web--migratedaway', 2, '---ss-', { memoryMiB: 2048, vcpus: 2, cpuSeconds: 12 }),
                ]
              : [];
          return { code: 0, stdout: `${XL_LIST_V_HEADER}\n${XL_DOM0_ROW}\n${rows.join('\n')}\n`, stderr: '' };
        }
        if (words[0] === 'ls') return { code: 2, stdout: '', stderr: 'ls: cannot access: No such file or directory\n' };
        if (words.includes('migrate')) migrated = true;
        throw new Error(`unexpected ${cmd}`);
      },
    };
    const host = (name: string) =>
      new XenToolstack('xl', runner, { name, configDirs: [], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 });
    const r = await host('xen1')
      .migrate('web', { host: 'xen2', address: 'xen2', verify: () => host('xen2').list() })
      .catch((e: unknown) => e);
    expect((r as Error).message).toBe(
      'web--migratedaway is left from an earlier migration of web (xen1, xen2): check both hosts and clear it first; nothing was run',
    );
    expect(migrated).toBe(false);
  });
});
