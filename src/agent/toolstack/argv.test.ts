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

describe('catConfig and create: the config path as the listing found it, only ever a NAME.cfg file', () => {
  it('takes a plain absolute DIR/NAME.cfg (a dir with a space too), and no link target that is no NAME.cfg', () => {
    expect(argv.catConfig('/etc/xen/vm/web.cfg')).toEqual(['cat', '/etc/xen/vm/web.cfg']);
    expect(argv.create('xl', '/srv/xen guests/db.cfg')).toEqual(['xl', 'create', '/srv/xen guests/db.cfg']);
    // An autostart link may point anywhere: README's sudo section promises cat only ever gets NAME.cfg files.
    for (const path of [
      '/root/notes.txt',
      '/srv/xen/mail',
      '/etc/xen/../shadow.cfg',
      '/etc/xen/./web.cfg',
      '/etc/xen//web.cfg',
      'etc/xen/vm/web.cfg',
      '/etc/xen/vm/my web.cfg',
      '/etc/xen/vm/123.cfg',
      '',
    ]) {
      expect(() => argv.catConfig(path), path).toThrow(UserError);
      expect(() => argv.create('xl', path), path).toThrow(/not a NAME\.cfg file/);
    }
  });
});

describe('readConfig: cat DIR/NAME.cfg under the schema’s own rule for config dirs', () => {
  it('reads from a configured dir whose path has a space (the path is quoted), and from no other dir', () => {
    expect(argv.readConfig(['/srv/xen guests'], '/srv/xen guests/', 'db')).toEqual(['cat', '/srv/xen guests/db.cfg']);
    expect(() => argv.readConfig(['/etc/xen/vm'], '/srv/xen guests', 'db')).toThrow(/not a config dir of this host/);
    expect(() => argv.readConfig(['/etc/xen/../vm'], '/etc/xen/../vm', 'db')).toThrow(/not a config dir of this host/);
  });
});

describe('migrate: the target address as the config takes it', () => {
  it('hands xl a user@host (xl passes it to ssh), and refuses it for xm and anything else', () => {
    expect(argv.migrate('xl', 'web', 'root@xen2')).toEqual(['xl', 'migrate', 'web', 'root@xen2']);
    expect(argv.migrate('xm', 'web', '10.0.0.2')).toEqual(['xm', 'migrate', '-l', 'web', '10.0.0.2']);
    expect(() => argv.migrate('xm', 'web', 'root@xen2')).toThrow(/relocation port/);
    for (const bad of ['-oProxyCommand=x', '@xen2', 'root@', 'a b', 'root@-x'])
      expect(() => argv.migrate('xl', 'web', bad), bad).toThrow(UserError);
  });
});
