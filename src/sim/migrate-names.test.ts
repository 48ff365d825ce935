import { describe, expect, it } from 'vitest';
import { type CommandIO, runCommand } from './interpreter.ts';
import { SimFleet } from './model.ts';

/**
 * Which names `xl migrate` leaves where, and when (shared/xen-toolstack.md §4: "During migration the source domain is
 * renamed `NAME--migratedaway` and the target one is `NAME--incoming`"; the order is X: tools/xl/xl_migrate.c):
 * - migrate_receive builds the guest on the target, paused, as NAME--incoming (create_domain with migrate_fd), before
 *   any page is copied; the source keeps running under its own name while its memory is copied (live);
 * - only after "migration sender: Target has acknowledged transfer." does migrate_domain rename the source
 *   NAME--migratedaway; on "migration target: Got permission, starting domain." the target renames NAME--incoming to
 *   NAME and unpauses it; after "Target reports successful startup." the source is destroyed;
 * - a name already taken on the target fails that rename (the whole guest was copied first): the target destroys its
 *   copy, the sender renames its own back, resumes it and says "Migration failed due to problems at target.".
 */
const spec = () =>
  new SimFleet({
    hosts: {
      xen1: { domains: [{ name: 'web', memoryMiB: 1024, vcpus: 1, running: true }] },
      xen2: { domains: [] },
    },
  });

const names = (f: SimFleet, host: string) =>
  f
    .host(host)
    .domains.filter((d) => d.id !== 0)
    .map((d) => `${d.name} ${d.flags}`);

function io(onErr: (line: string) => void, sleep: () => Promise<void> = () => Promise.resolve(), signal = new AbortController().signal) {
  let err = '';
  const cio: CommandIO = {
    out: () => {},
    err: (t) => {
      err += t;
      for (const line of t.split('\n').filter(Boolean)) onErr(line);
    },
    signal,
    sleep,
  };
  return { cio, stderr: () => err };
}

describe('xl migrate: the names on both hosts as it goes (X: tools/xl/xl_migrate.c)', () => {
  it('the source keeps its name while copied, the target holds NAME--incoming (paused); renames only at the handshake', async () => {
    const f = spec();
    const seen: Record<string, { xen1: string[]; xen2: string[] }> = {};
    const at = (key: string) => {
      seen[key] = { xen1: names(f, 'xen1'), xen2: names(f, 'xen2') };
    };
    const { cio, stderr } = io((line) => {
      if (line.startsWith('xc: progress:') && !seen['copying']) at('copying');
      if (line === 'migration sender: Giving target permission to start.') at('acknowledged');
      if (line === 'migration target: Domain started successsfully.') at('started');
    });
    const code = await runCommand(f, f.host('xen1'), 'xl migrate web xen2', cio, { shutdownDelayMs: 0 });
    expect(code).toBe(0);
    expect(seen['copying']).toEqual({ xen1: ['web -b----'], xen2: ['web--incoming --p---'] });
    // The sender suspended its copy for the last pages and renamed it once the target acknowledged the transfer.
    expect(seen['acknowledged']).toEqual({ xen1: ['web--migratedaway ---ss-'], xen2: ['web--incoming --p---'] });
    expect(seen['started']).toEqual({ xen1: ['web--migratedaway ---ss-'], xen2: ['web -b----'] });
    expect({ xen1: names(f, 'xen1'), xen2: names(f, 'xen2') }).toEqual({ xen1: [], xen2: ['web -b----'] });
    expect(
      stderr()
        .split('\n')
        .filter((l) => !l.startsWith('xc: progress:')),
    ).toEqual([
      'migration target: Ready to receive domain.',
      'Saving to migration stream new xl format (info 0x3/0x0/1444)',
      'Loading new save file <incoming migration stream> (new xl fmt info 0x3/0x0/1444)',
      ' Savefile contains xl domain config in JSON format',
      'migration target: Transfer complete, requesting permission to start domain.',
      'migration sender: Target has acknowledged transfer.',
      'migration sender: Giving target permission to start.',
      'migration target: Got permission, starting domain.',
      'migration target: Domain started successsfully.',
      'migration sender: Target reports successful startup.',
      'Migration successful.',
      '',
    ]);
  });

  it('the incoming copy holds its memory on the target while it arrives', async () => {
    const f = spec();
    const free: number[] = [];
    const { cio } = io((line) => {
      if (line.startsWith('xc: progress:') && free.length === 0) free.push(f.freeMemoryMiB(f.host('xen2')));
    });
    const before = f.freeMemoryMiB(f.host('xen2'));
    await runCommand(f, f.host('xen1'), 'xl migrate web xen2', cio, { shutdownDelayMs: 0 });
    expect(free).toEqual([before - 1024]);
  });

  it('cut off while copying: the source runs on under its own name, the target destroys its incoming copy', async () => {
    const f = spec();
    const controller = new AbortController();
    let sleeps = 0;
    const { cio } = io(
      () => {},
      () => {
        sleeps++;
        if (sleeps === 3) {
          controller.abort();
          return Promise.reject(new Error('client gone'));
        }
        return Promise.resolve();
      },
      controller.signal,
    );
    await expect(runCommand(f, f.host('xen1'), 'xl migrate web xen2', cio, { shutdownDelayMs: 0 })).rejects.toThrow('client gone');
    expect({ xen1: names(f, 'xen1'), xen2: names(f, 'xen2') }).toEqual({ xen1: ['web -b----'], xen2: [] });
  });

  it('a name taken on the target: copied, refused at the rename, the target copy destroyed, the source resumed', async () => {
    const f = spec();
    f.addDomain(f.host('xen2'), { name: 'web', memoryMiB: 512, vcpus: 1, flags: '---s--' });
    const { cio, stderr } = io(() => {});
    const code = await runCommand(f, f.host('xen1'), 'xl migrate web xen2', cio, { shutdownDelayMs: 0 });
    expect(code).toBe(1);
    const lines = stderr()
      .split('\n')
      .filter((l) => l && !l.startsWith('xc: progress:'));
    expect(lines.slice(-9)).toEqual([
      'migration sender: Giving target permission to start.',
      'migration target: Got permission, starting domain.',
      expect.stringMatching(/^libxl: error: libxl_domain\.c:\d+:libxl__domain_rename: Domain \d+:Domain with name "web" already exists\.$/),
      'migration target: Failure, destroying our copy.',
      'migration target: Cleanup OK, granting sender permission to resume.',
      'migration sender: Target reports startup failure (status code 6).',
      'migration sender: Trying to resume at our end.',
      'migration sender: Resumed OK.',
      'Migration failed due to problems at target.',
    ]);
    expect({ xen1: names(f, 'xen1'), xen2: names(f, 'xen2') }).toEqual({ xen1: ['web -b----'], xen2: ['web ---s--'] });
  });
});
