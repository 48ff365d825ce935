import { describe, expect, it } from 'vitest';
import { Config } from '../config/schema.ts';
import type { DomainSummary } from '../core/xen.ts';
import { FleetCache } from './fleet-cache.ts';
import { previewJob } from './preview.ts';

const config = Config.parse({
  hosts: {
    xen1: { address: 'a', privateKey: 'k', hostKey: `SHA256:${'a'.repeat(43)}`, toolstack: 'xl', sudo: true },
    old: { address: 'b', privateKey: 'k', hostKey: `SHA256:${'b'.repeat(43)}`, toolstack: 'xm' },
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
const fleet = new FleetCache(['xen1', 'old']);
fleet.update('xen1', [mail]);

describe('previewJob: what an approver sees is what the host will receive', () => {
  it('reboot, reboot --force (destroy, then create from the config file), pause and unpause', () => {
    expect(previewJob(config, fleet, { op: 'domain.reboot', host: 'xen1', domain: 'mail', force: false })).toBe(
      'xen1$ sudo -n -- xl reboot mail',
    );
    expect(previewJob(config, fleet, { op: 'domain.reboot', host: 'xen1', domain: 'mail', force: true })).toBe(
      'xen1$ sudo -n -- xl destroy mail, then xen1$ sudo -n -- xl create /etc/xen/vm/mail.cfg',
    );
    expect(previewJob(config, fleet, { op: 'domain.reboot', host: 'old', domain: 'db', force: true })).toBe(
      'old$ xm destroy db, then old$ xm create <the config file of db on old>',
    );
    expect(previewJob(config, fleet, { op: 'domain.pause', host: 'old', domain: 'db' })).toBe('old$ xm pause db');
    expect(previewJob(config, fleet, { op: 'domain.unpause', host: 'xen1', domain: 'mail' })).toBe('xen1$ sudo -n -- xl unpause mail');
  });

  it('autostart on links to the known config file; off unlinks the one path xenops manages', () => {
    expect(previewJob(config, fleet, { op: 'domain.autostart', host: 'xen1', domain: 'mail', enable: true })).toBe(
      'xen1$ sudo -n -- ln -s /etc/xen/vm/mail.cfg /etc/xen/auto/mail.cfg',
    );
    expect(previewJob(config, fleet, { op: 'domain.autostart', host: 'xen1', domain: 'mail', enable: false })).toBe(
      'xen1$ sudo -n -- unlink /etc/xen/auto/mail.cfg',
    );
    expect(previewJob(config, fleet, { op: 'domain.autostart', host: 'old', domain: 'db', enable: true })).toBe(
      'old$ ln -s <the config file of db on old> /etc/xen/auto/db.cfg',
    );
  });

  it('never builds a path from a name that is not a valid domain name', () => {
    expect(() => previewJob(config, fleet, { op: 'domain.autostart', host: 'xen1', domain: '../../etc/passwd', enable: false })).toThrow(
      /not a valid|must/i,
    );
  });
});
