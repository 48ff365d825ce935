import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { argv, autostartPath } from './argv.ts';

describe('autostart argv: only ever a path inside /etc/xen/auto built from a validated name', () => {
  it('builds ln -s CONFIG /etc/xen/auto/NAME.cfg, unlink, readlink and test -e of that one path', () => {
    expect(argv.autostartOn('/etc/xen/vm/mail.cfg', 'mail')).toEqual(['ln', '-s', '/etc/xen/vm/mail.cfg', '/etc/xen/auto/mail.cfg']);
    expect(argv.autostartOff('mail')).toEqual(['unlink', '/etc/xen/auto/mail.cfg']);
    expect(argv.readLink('mail')).toEqual(['readlink', '/etc/xen/auto/mail.cfg']);
    expect(argv.autostartExists('mail')).toEqual(['test', '-e', '/etc/xen/auto/mail.cfg']);
    expect(argv.autostartListing()).toEqual(['ls', '-l', '/etc/xen/auto/']);
  });

  it('refuses names that are no domain names (or Domain-0) before anything is built', () => {
    for (const bad of ['../x', 'a/b', '', '123', 'Domain-0', 'x y', 'web--incoming', '$(id)']) {
      expect(() => autostartPath(bad)).toThrow(UserError);
      expect(() => argv.autostartOff(bad)).toThrow(UserError);
    }
  });

  it('links only to an absolute, normalized .cfg path outside /etc/xen/auto', () => {
    for (const bad of [
      'vm/mail.cfg',
      '/etc/xen/../shadow.cfg',
      '/etc/xen//mail.cfg',
      '/etc/xen/./mail.cfg',
      '/etc/xen/mail',
      '/etc/xen/auto/mail.cfg',
      "/etc/xen/m'a.cfg",
      '/etc/xen/m a.cfg',
    ]) {
      expect(() => argv.autostartOn(bad, 'mail')).toThrow(/not a config file path/);
    }
    expect(argv.autostartOn('/srv/xen/guests/mail-01.cfg', 'mail')[2]).toBe('/srv/xen/guests/mail-01.cfg');
  });

  it('reboot, pause and unpause name the toolstack and a validated target', () => {
    expect(argv.reboot('xm', 'web')).toEqual(['xm', 'reboot', 'web']);
    expect(argv.pause('xl', 'web')).toEqual(['xl', 'pause', 'web']);
    expect(argv.unpause('xl', 'web')).toEqual(['xl', 'unpause', 'web']);
    expect(() => argv.reboot('xl', 'Domain-0')).toThrow(UserError);
  });
});

describe('catConfig: the config path as the listing found it, under create’s rule', () => {
  it('cats an absolute path (a link target without .cfg too), and nothing climbing out', () => {
    expect(argv.catConfig('/etc/xen/vm/web.cfg')).toEqual(['cat', '/etc/xen/vm/web.cfg']);
    expect(argv.catConfig('/srv/xen/mail')).toEqual(['cat', '/srv/xen/mail']);
    for (const path of ['/etc/xen/../shadow', 'etc/xen/vm/web.cfg', '']) expect(() => argv.catConfig(path)).toThrow(UserError);
  });
});
