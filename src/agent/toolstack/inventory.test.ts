import { describe, expect, it } from 'vitest';
import type { RunResult } from '../ssh/types.ts';
import { inventoryFromListings } from './inventory.ts';

const ok = (stdout: string): RunResult => ({ code: 0, stdout, stderr: '' });
const missing = (path: string): RunResult => ({ code: 2, stdout: '', stderr: `ls: cannot access '${path}': No such file or directory\n` });
const lsL = (...lines: string[]) => ok(`total ${lines.length * 4}\n${lines.map((l) => `${l}\n`).join('')}`);
const link = (name: string, target: string) => `lrwxrwxrwx 1 root root ${target.length} Mar  4 10:12 ${name} -> ${target}`;
const file = (name: string) => `-rw-r--r-- 1 root root 231 Mar  4 10:12 ${name}`;

const DIRS = ['/etc/xen/vm', '/etc/xen/auto'];

/** The default configDirs: /etc/xen/auto's `ls -1` is the second dir listing. */
function inventory(vm: string[], auto: { plain: string[]; long: RunResult }) {
  const plain = ok(auto.plain.map((n) => `${n}\n`).join(''));
  return inventoryFromListings(DIRS, [ok(vm.map((n) => `${n}\n`).join('')), plain], plain, auto.long);
}

describe('inventoryFromListings: config dirs and /etc/xen/auto', () => {
  it('an autostart link to a config is an autostart mark, never a second config or a second defined domain', () => {
    const inv = inventory(['mail.cfg', 'web.cfg'], {
      plain: ['01-web.cfg', 'mail.cfg'],
      long: lsL(link('01-web.cfg', '../vm/web.cfg'), link('mail.cfg', '/etc/xen/vm/mail.cfg')),
    });
    expect([...inv.configs]).toEqual([
      ['mail', '/etc/xen/vm/mail.cfg'],
      ['web', '/etc/xen/vm/web.cfg'],
    ]);
    expect(inv.autostart?.get('web')).toEqual({ path: '/etc/xen/auto/01-web.cfg', target: '/etc/xen/vm/web.cfg' });
    expect(inv.autostart?.get('mail')).toEqual({ path: '/etc/xen/auto/mail.cfg', target: '/etc/xen/vm/mail.cfg' });
    expect(inv.autostart?.has('01-web')).toBe(false);
    expect(inv.notes).toEqual([]);
  });

  it('the classic layout (auto/NAME.cfg -> ../NAME.cfg, outside the config dirs): the target is the config, known only via the link', () => {
    const inv = inventory([], { plain: ['dns.cfg'], long: lsL(link('dns.cfg', '../dns.cfg')) });
    expect(inv.configs.get('dns')).toBe('/etc/xen/dns.cfg');
    expect(inv.viaLinkOnly.has('dns')).toBe(true);
    expect(inv.autostart?.get('dns')).toEqual({ path: '/etc/xen/auto/dns.cfg', target: '/etc/xen/dns.cfg' });
  });

  it('a regular file in /etc/xen/auto is a config (xendomains starts it) and its own autostart entry', () => {
    const inv = inventory([], { plain: ['legacy.cfg'], long: lsL(file('legacy.cfg')) });
    expect(inv.configs.get('legacy')).toBe('/etc/xen/auto/legacy.cfg');
    expect(inv.autostart?.get('legacy')).toEqual({ path: '/etc/xen/auto/legacy.cfg', target: null });
  });

  it('says what does not add up: a dangling link, two entries for one domain, a link to another file, an unreadable line', () => {
    const inv = inventory(['web.cfg'], {
      plain: ['gone.cfg', 'web.cfg', 'web2.cfg', 'mail.cfg', 'weird'],
      long: lsL(
        link('gone.cfg', '/etc/xen/vm/gone.cfg'),
        link('web.cfg', '/etc/xen/vm/web.cfg'),
        link('web2.cfg', '/etc/xen/vm/web.cfg'),
        link('mail.cfg', '/srv/xen/mail-old.cfg'),
        'prw-r--r-- 1 root root 0 Mar  4 10:12 weird',
        '?????????? ? ?    ?       ?            ? broken.cfg',
      ),
    });
    expect(inv.notes).toEqual([
      'could not read this line of ls -l /etc/xen/auto/: "?????????? ? ?    ?       ?            ? broken.cfg"',
      '/etc/xen/auto/gone.cfg points to /etc/xen/vm/gone.cfg, which does not exist: it would fail when the host boots',
      'web has more than one autostart entry: /etc/xen/auto/web.cfg and /etc/xen/auto/web2.cfg',
      '/etc/xen/auto/weird is neither a file nor a symlink: xendomains cannot start anything from it',
    ]);
    // The dangling link still marks gone (it is an autostart entry; it would fail), but makes no config.
    expect(inv.configs.has('gone')).toBe(false);
    expect(inv.autostart?.get('gone')?.target).toBe('/etc/xen/vm/gone.cfg');
    // A link to a file outside the config dirs names its domain by the file it points to (NAME.cfg), as 01-web.cfg
    // -> ../web.cfg must: the target is that domain's config, known only through the link.
    expect(inv.configs.get('mail-old')).toBe('/srv/xen/mail-old.cfg');
    expect(inv.configs.has('mail')).toBe(false);
    expect(inv.viaLinkOnly.has('mail-old')).toBe(true);
  });

  it('says which *.cfg files of a config dir it cannot use, and reads names as listed (web.cfg with a trailing space is not web.cfg)', () => {
    const inv = inventory(['my web.cfg', 'x;reboot.cfg', '123.cfg', 'web.cfg ', 'notes.txt', 'db.cfg'], { plain: [], long: lsL() });
    expect([...inv.configs]).toEqual([['db', '/etc/xen/vm/db.cfg']]);
    expect(inv.notes).toEqual([
      '"/etc/xen/vm/my web.cfg" is not a config xenops can use: its name is no domain name xenops acts on',
      '"/etc/xen/vm/x;reboot.cfg" is not a config xenops can use: its name is no domain name xenops acts on',
      '"/etc/xen/vm/123.cfg" is not a config xenops can use: its name is no domain name xenops acts on',
    ]);
  });

  it("an autostart link to a file that is no NAME.cfg stays its domain's config (xendomains boots it), said", () => {
    const inv = inventory([], { plain: ['odd.cfg'], long: lsL(link('odd.cfg', '/root/notes.txt')) });
    expect(inv.configs.get('odd')).toBe('/root/notes.txt');
    expect(inv.notes).toEqual([
      '/etc/xen/auto/odd.cfg points to "/root/notes.txt", which is no NAME.cfg file: xenops does not start odd from it',
    ]);
  });

  it('no /etc/xen/auto at all: nothing autostarts (known); /etc/xen/auto unreadable: autostart unknown, said', () => {
    const none = inventoryFromListings(['/etc/xen/vm'], [ok('web.cfg\n')], missing('/etc/xen/auto'), missing('/etc/xen/auto/'));
    expect(none.autostart?.size).toBe(0);
    expect(none.notes).toEqual([]);
    const denied: RunResult = { code: 2, stdout: '', stderr: "ls: cannot open directory '/etc/xen/auto/': Permission denied\n" };
    const unknown = inventoryFromListings(DIRS, [ok('web.cfg\n'), ok('web.cfg\n')], ok('web.cfg\n'), denied);
    expect(unknown.autostart).toBeNull();
    expect(unknown.notes).toEqual([
      "could not read /etc/xen/auto (ls: cannot open directory '/etc/xen/auto/': Permission denied): which domains start with the host is unknown",
    ]);
    expect([...unknown.configs]).toEqual([['web', '/etc/xen/vm/web.cfg']]);
  });
});

describe('configDirs naming /etc/xen/auto/ with a trailing slash', () => {
  it('is still the autostart dir: its links are marks, not configs', () => {
    const plain = ok('mail.cfg\n');
    const inv = inventoryFromListings(
      ['/etc/xen/vm/', '/etc/xen/auto/'],
      [ok('mail.cfg\n'), plain],
      plain,
      lsL(link('mail.cfg', '/etc/xen/vm/mail.cfg')),
    );
    expect([...inv.configs]).toEqual([['mail', '/etc/xen/vm/mail.cfg']]);
    expect(inv.autostart?.get('mail')).toEqual({ path: '/etc/xen/auto/mail.cfg', target: '/etc/xen/vm/mail.cfg' });
    expect(inv.notes).toEqual([]);
  });
});
