import { describe, expect, it } from 'vitest';
import { xlListV, xlRow } from '../../../test/helpers/xl-list.ts';
import { UserError } from '../../core/errors.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/**
 * Migrations against a scripted runner that replays what real xl prints and lists (shared/xen-toolstack.md §4,
 * samples xl-migrate-success__*.txt; xl_migrate.c migrate_domain / migrate_receive):
 * - the receiver builds the guest paused as NAME--incoming and, on "Got permission", renames it to NAME and unpauses
 *   it unless `-p` ("leave paused on target") was given — whatever state the source copy was in;
 * - when the rename at the target fails (a domain of that name is already there: §3 "name in use"), the receiver
 *   reports a startup failure, destroys its copy, the sender renames back, resumes, and prints
 *   "Migration failed due to problems at target." (exit 1) — after the whole memory image was copied.
 */

const SUCCESS = [
  'migration target: Ready to receive domain.',
  'Saving to migration stream new xl format (info 0x3/0x0/1444)',
  'Loading new save file <incoming migration stream> (new xl fmt info 0x3/0x0/1444)',
  ' Savefile contains xl domain config in JSON format',
  'Parsing config from <saved>',
  'migration target: Transfer complete, requesting permission to start domain.',
  'migration sender: Target has acknowledged transfer.',
  'migration sender: Giving target permission to start.',
  'migration target: Got permission, starting domain.',
  'migration target: Domain started successsfully.',
  'migration sender: Target reports successful startup.',
  'Migration successful.',
  '',
].join('\n');

const TARGET_REFUSES = [
  'migration target: Ready to receive domain.',
  'Saving to migration stream new xl format (info 0x3/0x0/1444)',
  'Loading new save file <incoming migration stream> (new xl fmt info 0x3/0x0/1444)',
  ' Savefile contains xl domain config in JSON format',
  'migration target: Transfer complete, requesting permission to start domain.',
  'migration sender: Target has acknowledged transfer.',
  'migration sender: Giving target permission to start.',
  'migration target: Got permission, starting domain.',
  'libxl: error: libxl_domain.c:215:libxl__domain_rename: Domain 12:Domain with name "web" already exists.',
  'migration sender: Target reports startup failure (status code 6).',
  'migration target: Failure, destroying our copy.',
  'migration target: Cleanup OK, granting sender permission to resume.',
  'migration sender: Trying to resume at our end.',
  'migration sender: Resumed OK.',
  'Migration failed due to problems at target.',
  '',
].join('\n');

interface Script {
  source: string[];
  target: string[];
  /** What each side lists once xl migrate has returned, and what it printed. */
  after: (argv: string[]) => { source: string[]; target: string[]; code: number; stderr: string };
}

function fleet(script: Script) {
  const sent: string[] = [];
  let state = { source: script.source, target: script.target };
  const runner: RemoteRunner = {
    run: async (host, words, options): Promise<RunResult> => {
      const cmd = words.join(' ');
      if (cmd === 'xl list -v') return { code: 0, stdout: xlListV(host === 'xen1' ? state.source : state.target), stderr: '' };
      if (words[0] === 'ls') return { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
      if (words[0] === 'xl' && words[1] === 'migrate') {
        sent.push(cmd);
        const r = script.after([...words]);
        state = { source: r.source, target: r.target };
        options?.onStderr?.(r.stderr);
        return { code: r.code, stdout: '', stderr: r.stderr };
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
  return { source: host('xen1'), target: { host: 'xen2', address: 'xen2', verify: () => host('xen2').list() }, sent };
}

describe('migrating a paused guest', () => {
  it('does not silently resume an operator-paused guest on the target (xl migrate without -p unpauses it there)', async () => {
    const f = fleet({
      source: [xlRow('web', 3, '--p---', { memoryMiB: 2048 })],
      target: [],
      // migrate_receive: rename web--incoming → web, then libxl_domain_unpause unless -p was passed.
      after: (argv) => ({
        source: [],
        target: [xlRow('web', 12, argv.includes('-p') ? '--p---' : '-b----', { memoryMiB: 2048 })],
        code: 0,
        stderr: SUCCESS,
      }),
    });
    const r = await f.source.migrate('web', f.target).catch((e: unknown) => e);
    // Was "running on xen2 … (verified)": the operator's pause undone without a word. Refused, nothing sent.
    expect(r).toBeInstanceOf(UserError);
    expect((r as Error).message).toMatch(/web is paused on xen1: xl migrate would leave it running on xen2/);
    expect(f.sent).toEqual([]);
  });
});

describe('what "migrated … running (verified)" is based on', () => {
  it('a copy that arrived but crashed on the target (--psc-, on_crash=preserve) is not reported as running there', async () => {
    const f = fleet({
      source: [xlRow('web', 3, '-b----', { memoryMiB: 2048 })],
      target: [],
      after: () => ({ source: [], target: [xlRow('web', 12, '--psc-', { memoryMiB: 2048, reason: '3' })], code: 0, stderr: SUCCESS }),
    });
    const r = await f.source.migrate('web', f.target);
    // Was "running on xen2 as id 12 (verified)" while xl list showed it crashed; then a failure, which had the guest
    // "still on xen1". It moved: the result says where it is and in what state.
    expect(r.outcome).toBe('arrived-not-running');
    expect(r.target).toBe('xen2');
    expect(r.domain).toMatchObject({ name: 'web', id: 12, status: 'crashed', flags: '--psc-' });
  });

  it('a copy read back paused on the target (paused there meanwhile) has moved, and is said not to run there', async () => {
    const f = fleet({
      source: [xlRow('web', 3, '-b----', { memoryMiB: 2048 })],
      target: [],
      after: () => ({ source: [], target: [xlRow('web', 12, '--p---', { memoryMiB: 2048 })], code: 0, stderr: SUCCESS }),
    });
    const r = await f.source.migrate('web', f.target);
    expect(r.outcome).toBe('arrived-not-running');
    expect(r.domain).toMatchObject({ name: 'web', status: 'paused' });
  });
});

describe('a target that will refuse the guest', () => {
  it('is refused before xl migrate when the target already holds a domain of that name (powered off, not cleared: ---s--)', async () => {
    const f = fleet({
      source: [xlRow('web', 3, '-b----', { memoryMiB: 2048 })],
      // Left by an earlier `xl shutdown -w` there (§3: it returns before the toolstack clears the domain away).
      target: [xlRow('web', 7, '---s--', { memoryMiB: 2048, reason: '0' })],
      after: () => ({
        source: [xlRow('web', 3, '-b----', { memoryMiB: 2048 })],
        target: [xlRow('web', 7, '---s--', { memoryMiB: 2048, reason: '0' })],
        code: 1,
        stderr: TARGET_REFUSES,
      }),
    });
    const r = await f.source.migrate('web', f.target).catch((e: unknown) => e);
    // xl would copy the whole memory image and suspend the guest before the target's rename fails: nothing is sent.
    expect(r).toBeInstanceOf(UserError);
    expect((r as Error).message).toMatch(/xen2 already has a domain named web \(shutdown, ---s--\)/);
    expect(f.sent).toEqual([]);
  });
});
