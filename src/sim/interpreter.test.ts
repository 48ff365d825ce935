import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CommandIO, runCommand, streamsToClient } from './interpreter.ts';
import { DOM0_UUID, domainUuid, SimFleet, type SimFleetSpec } from './model.ts';

const spec: SimFleetSpec = {
  hosts: {
    xen1: {
      domains: [
        { name: 'gateway', memoryMiB: 512, vcpus: 1, running: true },
        { name: 'web', memoryMiB: 2048, vcpus: 2, running: true },
        { name: 'mail', memoryMiB: 1024, vcpus: 2, running: false },
      ],
    },
    xen2: { domains: [{ name: 'files', memoryMiB: 4096, vcpus: 2, running: true }] },
    old: { toolstack: 'xm', domains: [{ name: 'legacy', memoryMiB: 256, vcpus: 1, running: true }] },
  },
};

/** A fleet with a frozen clock, so CPU seconds are exactly the starting values. */
const frozenFleet = () => new SimFleet(spec, () => 1_000_000);

async function sh(fleet: SimFleet, host: string, command: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIO = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    signal: new AbortController().signal,
    sleep: () => Promise.resolve(),
  };
  const code = await runCommand(fleet, fleet.host(host), command, io, { shutdownDelayMs: 0 });
  return { code, out, err };
}

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('stable domain UUIDs', () => {
  it('derives a version-5-style UUID from the name; Domain-0 has the nil UUID as on real Xen', () => {
    expect(domainUuid('web')).toMatch(UUID_V5);
    expect(domainUuid('web')).toBe(domainUuid('web'));
    expect(domainUuid('web')).not.toBe(domainUuid('Web'));
    expect(domainUuid('Domain-0')).toBe(DOM0_UUID);
    // Two independently built fleets (two simulator runs) agree.
    expect(frozenFleet().findDomain(frozenFleet().host('xen1'), 'web')?.uuid).toBe(domainUuid('web'));
  });

  it('writes the UUID into the generated .cfg, and xl create uses the one a cfg gives', async () => {
    const fleet = frozenFleet();
    const xen1 = fleet.host('xen1');
    expect(xen1.files.get('/etc/xen/vm/mail.cfg')).toContain(`uuid = "${domainUuid('mail')}"\n`);
    expect((await sh(fleet, 'xen1', 'xl create /etc/xen/vm/mail.cfg')).code).toBe(0);
    expect(fleet.findDomain(xen1, 'mail')?.uuid).toBe(domainUuid('mail'));
    xen1.files.set('/etc/xen/other.cfg', 'name = "other"\nuuid = "0A1B2C3D-0000-4000-8000-00000000ABCD"\nmemory = 256\n');
    expect((await sh(fleet, 'xen1', 'xl create /etc/xen/other.cfg')).code).toBe(0);
    expect(fleet.findDomain(xen1, 'other')?.uuid).toBe('0a1b2c3d-0000-4000-8000-00000000abcd');
  });

  it('keeps the UUID across a migration (same guest, same UUID on every host)', async () => {
    const fleet = frozenFleet();
    const before = fleet.findDomain(fleet.host('xen1'), 'web')?.uuid;
    const r = await sh(fleet, 'xen1', 'xl migrate web xen2');
    expect(r.code).toBe(0);
    expect(fleet.findDomain(fleet.host('xen1'), 'web')).toBeUndefined();
    expect(fleet.findDomain(fleet.host('xen2'), 'web')?.uuid).toBe(before);
    expect(before).toBe(domainUuid('web'));
  });
});

describe('xl list -v / -l and xm list -l', () => {
  it('prints the UUID, reason-code and security-label columns exactly as xl_info.c list_domains does', async () => {
    const fleet = frozenFleet();
    const xen1 = fleet.host('xen1');
    const web = fleet.findDomain(xen1, 'web');
    if (!web) throw new Error('no web');
    web.flags = '---sc-'; // crashed: shut down, reason 3
    const r = await sh(fleet, 'xen1', 'xl list -v');
    expect(r.code).toBe(0);
    const gw = domainUuid('gateway');
    const wb = domainUuid('web');
    expect(r.out).toBe(
      [
        'Name                                        ID   Mem VCPUs\tState\tTime(s)   UUID                            Reason-Code\tSecurity Label',
        // "%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f" then " " UUID, " %8s" "-" (or " %8x" reason), " %16s" "-"
        `Domain-0                                     0  2048     4     r-----    5000.0 ${DOM0_UUID}        -                -`,
        `gateway                                      1   512     1     -b----       0.0 ${gw}        -                -`,
        `web                                          2  2048     2     ---sc-       0.0 ${wb}        3                -`,
        '',
      ].join('\n'),
    );
  });

  it('`xl list -v DOMAIN` prints that domain only; `--verbose` and `-lv` are understood', async () => {
    const fleet = frozenFleet();
    const one = await sh(fleet, 'xen1', 'xl list --verbose web');
    expect(one.out.trim().split('\n')).toHaveLength(2);
    expect(one.out).toContain(domainUuid('web'));
    const long = JSON.parse((await sh(fleet, 'xen1', 'xl list -lv gateway')).out) as { domid: number }[];
    expect(long.map((d) => d.domid)).toEqual([1]);
    expect((await sh(fleet, 'xen1', 'xl list 99')).err).toBe("Error: Domain '99' does not exist.\n");
    expect((await sh(fleet, 'xen1', 'xl list nosuch')).err).toBe('nosuch is an invalid domain identifier (rc=-6)\n');
  });

  it('`xl list -l` puts the UUID at config.c_info.uuid', async () => {
    const r = await sh(frozenFleet(), 'xen2', 'xl list -l');
    const parsed = JSON.parse(r.out) as { domid: number; config: { c_info: { name: string; uuid: string } } }[];
    expect(parsed.map((d) => [d.config.c_info.name, d.config.c_info.uuid])).toEqual([
      ['Domain-0', DOM0_UUID],
      ['files', domainUuid('files')],
    ]);
    expect(r.out).toMatch(/^ {8}"domid": 1,$/m);
  });

  it('`xm list -l` prints xend SXP with (uuid …)', async () => {
    const r = await sh(frozenFleet(), 'old', 'xm list --long');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`(domain\n    (domid 1)\n    (on_crash restart)\n    (uuid ${domainUuid('legacy')})\n`);
    expect(r.out).toContain(`    (uuid ${DOM0_UUID})\n`);
    expect(r.out).toContain('    (name legacy)\n');
    expect(r.out).toContain('    (state -b----)\n');
    // A guest's devices follow its state, as xend prints them; Domain-0 has none here.
    expect(r.out).toContain('    (device\n        (vif\n            (bridge xenbr0)\n');
    expect(r.out).toContain('    (state r-----)\n)\n');
  });
});

describe('streamsToClient', () => {
  it('is true for console attach, migrate and xentop behind sudo/timeout, false for the rest', () => {
    expect(streamsToClient("sudo -n -- 'xl' 'migrate' 'web' 'xen2'")).toBe(true);
    expect(streamsToClient('timeout 3 xl console web')).toBe(true);
    expect(streamsToClient('sudo -n -- timeout 3 xm console web')).toBe(true);
    expect(streamsToClient('xentop -b -i 2 -d 1')).toBe(true);
    expect(streamsToClient("'xl' 'create' '/etc/xen/vm/mail.cfg'")).toBe(false);
    expect(streamsToClient('timeout 30 xl shutdown -w web')).toBe(false);
  });
});

describe('/etc/xen/auto: symlinks, ls -l, ln -s, unlink, readlink', () => {
  const autoFleet = () =>
    new SimFleet(
      {
        hosts: {
          xen1: {
            domains: [
              { name: 'web', memoryMiB: 512, vcpus: 1, running: true, autostart: true },
              { name: 'mail', memoryMiB: 256, vcpus: 1, running: false },
            ],
          },
        },
      },
      () => Date.UTC(2026, 2, 4, 10, 12),
    );

  it('lists links and files with ls -1 and in GNU long format with ls -l (a trailing slash lists the contents)', async () => {
    const fleet = autoFleet();
    expect((await sh(fleet, 'xen1', 'ls -1 /etc/xen/auto')).out).toBe('web.cfg\n');
    expect((await sh(fleet, 'xen1', 'ls -l /etc/xen/auto/')).out).toBe(
      'total 4\nlrwxrwxrwx 1 root root 19 Mar  4 10:12 web.cfg -> /etc/xen/vm/web.cfg\n',
    );
    // An existing but empty directory lists nothing and succeeds; a missing one fails as GNU ls does.
    expect(await sh(fleet, 'xen1', 'unlink /etc/xen/auto/web.cfg')).toEqual({ code: 0, out: '', err: '' });
    expect(await sh(fleet, 'xen1', 'ls -l /etc/xen/auto/')).toEqual({ code: 0, out: 'total 0\n', err: '' });
    expect(await sh(fleet, 'xen1', 'ls -1 /etc/xen/nope')).toEqual({
      code: 2,
      out: '',
      err: "ls: cannot access '/etc/xen/nope': No such file or directory\n",
    });
  });

  it('ln -s makes a link and never replaces one (File exists); into a missing directory: No such file or directory', async () => {
    const fleet = autoFleet();
    const xen1 = fleet.host('xen1');
    expect(await sh(fleet, 'xen1', 'ln -s /etc/xen/vm/mail.cfg /etc/xen/auto/mail.cfg')).toEqual({ code: 0, out: '', err: '' });
    expect(xen1.links.get('/etc/xen/auto/mail.cfg')).toBe('/etc/xen/vm/mail.cfg');
    expect(await sh(fleet, 'xen1', 'ln -s /etc/xen/vm/web.cfg /etc/xen/auto/mail.cfg')).toEqual({
      code: 1,
      out: '',
      err: "ln: failed to create symbolic link '/etc/xen/auto/mail.cfg': File exists\n",
    });
    expect(xen1.links.get('/etc/xen/auto/mail.cfg')).toBe('/etc/xen/vm/mail.cfg');
    expect((await sh(fleet, 'xen1', 'ln -s /etc/xen/vm/mail.cfg /etc/xen/gone/mail.cfg')).err).toBe(
      "ln: failed to create symbolic link '/etc/xen/gone/mail.cfg': No such file or directory\n",
    );
  });

  it('readlink prints a link and fails silently otherwise; unlink removes the link, not its target, and says when there is none', async () => {
    const fleet = autoFleet();
    expect(await sh(fleet, 'xen1', 'readlink /etc/xen/auto/web.cfg')).toEqual({ code: 0, out: '/etc/xen/vm/web.cfg\n', err: '' });
    expect(await sh(fleet, 'xen1', 'readlink /etc/xen/vm/web.cfg')).toEqual({ code: 1, out: '', err: '' });
    expect((await sh(fleet, 'xen1', 'test -e /etc/xen/auto/web.cfg')).code).toBe(0);
    expect((await sh(fleet, 'xen1', 'unlink /etc/xen/auto/web.cfg')).code).toBe(0);
    expect(fleet.host('xen1').files.has('/etc/xen/vm/web.cfg')).toBe(true);
    expect((await sh(fleet, 'xen1', 'test -e /etc/xen/auto/web.cfg')).code).toBe(1);
    expect(await sh(fleet, 'xen1', 'unlink /etc/xen/auto/web.cfg')).toEqual({
      code: 1,
      out: '',
      err: "unlink: cannot unlink '/etc/xen/auto/web.cfg': No such file or directory\n",
    });
    expect((await sh(fleet, 'xen1', 'unlink /etc/xen/auto')).err).toBe("unlink: cannot unlink '/etc/xen/auto': Is a directory\n");
    expect((await sh(fleet, 'xen1', 'rm /etc/xen/auto/web.cfg')).err).toBe(
      "rm: cannot remove '/etc/xen/auto/web.cfg': No such file or directory\n",
    );
  });

  it('xl create, cat and test follow links; a dangling link reads as missing', async () => {
    const fleet = autoFleet();
    fleet.host('xen1').links.set('/etc/xen/auto/mail.cfg', '../vm/mail.cfg');
    expect((await sh(fleet, 'xen1', 'cat /etc/xen/auto/mail.cfg')).out).toContain('name = "mail"');
    expect((await sh(fleet, 'xen1', 'xl create /etc/xen/auto/mail.cfg')).code).toBe(0);
    expect(fleet.findDomain(fleet.host('xen1'), 'mail')).toBeDefined();
    fleet.host('xen1').links.set('/etc/xen/auto/old.cfg', '/etc/xen/vm/old.cfg');
    expect((await sh(fleet, 'xen1', 'test -e /etc/xen/auto/old.cfg')).code).toBe(1);
    expect((await sh(fleet, 'xen1', 'test -L /etc/xen/auto/old.cfg')).code).toBe(0);
  });
});

describe('xl/xm reboot, pause and unpause', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reboot answers at once; the guest goes down (---sr-) after the shutdown delay and comes back with a new domid', async () => {
    vi.useFakeTimers();
    const fleet = frozenFleet();
    const xen1 = fleet.host('xen1');
    const web = fleet.findDomain(xen1, 'web');
    const io: CommandIO = { out: () => {}, err: () => {}, signal: new AbortController().signal, sleep: () => Promise.resolve() };
    let err = '';
    const code = await runCommand(fleet, xen1, 'xl reboot web', { ...io, err: (t) => (err += t) }, { shutdownDelayMs: 1000 });
    expect([code, err]).toEqual([0, `Rebooting domain ${web?.id}\n`]);
    expect(fleet.findDomain(xen1, 'web')).toBe(web);
    vi.advanceTimersByTime(1000);
    expect(fleet.findDomain(xen1, 'web')?.flags).toBe('---sr-');
    vi.advanceTimersByTime(500);
    const back = fleet.findDomain(xen1, 'web');
    expect(back).not.toBe(web);
    expect(back).toMatchObject({ uuid: domainUuid('web'), flags: '-b----', cpuBase: 0 });
    expect(back?.id).toBeGreaterThan(web?.id ?? 0);
    expect(xen1.files.get('/var/log/xen/console/guest-web.log')).toContain('reboot: Restarting system');
  });

  it('a paused guest ignores a reboot request; unknown domains are refused as xl and xm do', async () => {
    vi.useFakeTimers();
    const fleet = frozenFleet();
    const xen1 = fleet.host('xen1');
    expect((await sh(fleet, 'xen1', 'xl pause web')).code).toBe(0);
    const web = fleet.findDomain(xen1, 'web');
    expect((await sh(fleet, 'xen1', 'xl reboot web')).code).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(fleet.findDomain(xen1, 'web')).toBe(web);
    expect(web?.flags).toBe('-bp---');
    expect(await sh(fleet, 'xen1', 'xl reboot nosuch')).toEqual({
      code: 1,
      out: '',
      err: 'nosuch is an invalid domain identifier (rc=-6)\n',
    });
    expect(await sh(fleet, 'old', 'xm reboot nosuch')).toEqual({ code: 3, out: '', err: "Error: Domain 'nosuch' does not exist.\n" });
  });

  it('pause counts like Xen does (two pauses need two unpauses); unpausing what is not paused is EINVAL, which xl ignores', async () => {
    const fleet = frozenFleet();
    const web = () => fleet.findDomain(fleet.host('xen1'), 'web');
    await sh(fleet, 'xen1', 'xl pause web');
    await sh(fleet, 'xen1', 'xl pause web');
    expect(web()?.flags).toBe('-bp---');
    await sh(fleet, 'xen1', 'xl unpause web');
    expect(web()?.flags).toBe('-bp---');
    await sh(fleet, 'xen1', 'xl unpause web');
    expect(web()?.flags).toBe('-b----');
    const again = await sh(fleet, 'xen1', 'xl unpause web');
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/libxl_domain_unpause: Domain \d+:Unpausing domain: Invalid argument\n$/);
    expect(await sh(fleet, 'old', 'xm unpause legacy')).toEqual({ code: 1, out: '', err: "Error: (22, 'Invalid argument')\n" });
    expect((await sh(fleet, 'old', 'xm pause legacy')).code).toBe(0);
    expect(fleet.findDomain(fleet.host('old'), 'legacy')?.flags).toBe('-bp---');
  });
});

describe('xl shutdown of a guest that cannot act on it', () => {
  it('a paused guest keeps the request and powers off only once unpaused, as a xenstore request waits', async () => {
    const fleet = frozenFleet();
    const xen1 = fleet.host('xen1');
    await sh(fleet, 'xen1', 'xl pause web');
    expect((await sh(fleet, 'xen1', 'xl shutdown web')).code).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(fleet.findDomain(xen1, 'web')?.flags).toBe('-bp---');
    await sh(fleet, 'xen1', 'xl unpause web');
    await new Promise((r) => setTimeout(r, 20));
    expect(fleet.findDomain(xen1, 'web')).toBeUndefined();
  });

  it('a crashed guest kept by on_crash="preserve": -w returns at once with the crash as reason, and it stays', async () => {
    const fleet = frozenFleet();
    const web = fleet.findDomain(fleet.host('xen1'), 'web');
    if (!web) throw new Error('no web');
    web.flags = '---sc-';
    const r = await sh(fleet, 'xen1', 'xl shutdown -w web');
    expect(r).toMatchObject({
      code: 0,
      err: 'Shutting down domain 2\nWaiting for 1 domains\nDomain 2 has been shut down, reason code 3\n',
    });
    expect(fleet.findDomain(fleet.host('xen1'), 'web')?.flags).toBe('---sc-');
  });
});

describe('CPU time', () => {
  it('stands still while a domain is paused or crashed, and goes on when it runs again; xl uptime counts from its creation', async () => {
    let now = 1_000_000;
    const fleet = new SimFleet(spec, () => now);
    const xen1 = fleet.host('xen1');
    const web = fleet.findDomain(xen1, 'web');
    if (!web) throw new Error('no web');
    const cpu = () => fleet.cpuSeconds(web);
    // web has 2 vCPUs: 0.04 CPU seconds per wall second while it runs.
    now += 100_000;
    expect(cpu()).toBeCloseTo(4, 6);
    expect((await sh(fleet, 'xen1', 'xl pause web')).code).toBe(0);
    now += 100_000;
    expect(cpu()).toBeCloseTo(4, 6);
    expect((await sh(fleet, 'xen1', 'xl unpause web')).code).toBe(0);
    now += 50_000;
    expect(cpu()).toBeCloseTo(6, 6);
    web.flags = '---sc-';
    now += 100_000;
    expect(cpu()).toBeCloseTo(6, 6);
    expect((await sh(fleet, 'xen1', 'xl list web')).out).toMatch(/---sc-\s+6\.0\n$/);
    expect((await sh(fleet, 'xen1', 'xl uptime web')).out).toMatch(/web\s+2\s+0:05:50\n$/);
  });
});
