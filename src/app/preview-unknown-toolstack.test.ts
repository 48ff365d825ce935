import { describe, expect, it } from 'vitest';
import { Config } from '../config/schema.ts';
import type { DomainSummary } from '../core/xen.ts';
import { FleetCache } from './fleet-cache.ts';
import { previewJob } from './preview.ts';

// `toolstack: auto` hosts: the agent detects xl or xm when a job runs, and the bot learns it only from a listing. An
// approval card made before any listing came back (a failed refresh, a bot just started) must not name a toolstack.
const key = (c: string) => ({ privateKey: 'k', hostKey: `SHA256:${c.repeat(43)}` });
const config = Config.parse({
  hosts: {
    xen1: { address: 'a', ...key('a'), toolstack: 'auto', sudo: true },
    old: { address: 'b', ...key('b'), toolstack: 'auto', migrateAddress: 'root@old-mig' },
    pinned: { address: 'c', ...key('c'), toolstack: 'xm' },
    heard: { address: 'd', ...key('d'), toolstack: 'auto' },
  },
});
const mail: DomainSummary = {
  name: 'mail',
  uuid: null,
  id: 4,
  status: 'blocked',
  flags: '-b----',
  memoryMiB: 1024,
  vcpus: 1,
  cpuSeconds: 1,
  configPath: '/etc/xen/vm/mail.cfg',
  autostart: null,
};

function fleetFor(): FleetCache {
  const fleet = new FleetCache(['xen1', 'old', 'pinned', 'heard']);
  fleet.update('xen1', [mail]);
  fleet.applyResult('domain.list', 'heard', { host: 'heard', toolstack: 'xm', domains: [mail] });
  return fleet;
}

const UNKNOWN = 'toolstack not known yet (auto: the agent detects xl or xm when the job runs)';

describe('previewJob on a host whose toolstack is not known yet', () => {
  it('does not present the xl command as what will run: it shows the xl and the xm form, and says why', () => {
    const fleet = fleetFor();
    const pause = previewJob(config, fleet, { op: 'domain.pause', host: 'xen1', domain: 'mail' });
    expect(pause).toBe(`xen1: ${UNKNOWN} — on xl: xen1$ sudo -n -- xl pause mail | on xm: xen1$ sudo -n -- xm pause mail`);
    expect(pause).not.toMatch(/^xen1\$ /);
    const reboot = previewJob(config, fleet, { op: 'domain.reboot', host: 'xen1', domain: 'mail', force: true });
    expect(reboot).toBe(
      `xen1: ${UNKNOWN} — on xl: xen1$ sudo -n -- xl destroy mail, then xen1$ sudo -n -- xl create /etc/xen/vm/mail.cfg` +
        ' | on xm: xen1$ sudo -n -- xm destroy mail, then xen1$ sudo -n -- xm create /etc/xen/vm/mail.cfg',
    );
  });

  it('a form the agent would refuse on one toolstack says nothing would be sent there, and the request is not refused', () => {
    // xm migrates through xend, not ssh: a user@ in the target address is refused on xm, and only there.
    const migrate = previewJob(config, fleetFor(), { op: 'domain.migrate', host: 'xen1', domain: 'mail', target: 'old' });
    expect(migrate).toMatch(
      new RegExp(`^xen1: ${UNKNOWN.replace(/[()]/g, '\\$&')} — on xl: xen1\\$ sudo -n -- xl migrate mail root@old-mig \\| on xm: `),
    );
    expect(migrate).toMatch(/\| on xm: nothing would be sent \(xm migrates through xend's relocation port, not ssh: .*user@\)$/);
  });

  it('a command that is the same on both toolstacks is shown once, as it is', () => {
    expect(previewJob(config, fleetFor(), { op: 'domain.autostart', host: 'xen1', domain: 'mail', enable: false })).toBe(
      'xen1$ sudo -n -- unlink /etc/xen/auto/mail.cfg',
    );
  });

  it('a name no toolstack may be given still refuses the request', () => {
    expect(() => previewJob(config, fleetFor(), { op: 'domain.pause', host: 'old', domain: 'Domain-0' })).toThrow(/Domain-0/);
  });

  it('a toolstack the config pins, or one the host reported, is shown alone', () => {
    const fleet = fleetFor();
    expect(previewJob(config, fleet, { op: 'domain.pause', host: 'pinned', domain: 'db' })).toBe('pinned$ xm pause db');
    expect(previewJob(config, fleet, { op: 'domain.pause', host: 'heard', domain: 'mail' })).toBe('heard$ xm pause mail');
  });
});
