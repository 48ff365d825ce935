import { describe, expect, it } from 'vitest';
import { parseLsLong, plainNames } from './autostart.ts';

/**
 * `ls -l /etc/xen/auto/` as different systems print it: GNU coreutils in the C locale (and the `.` SELinux marker of
 * RHEL), GNU in a German locale, GNU with --time-style=long-iso defaults (Debian's LS_TIME_STYLE), and BusyBox.
 * Dates and column widths vary; the name comes from `ls -1`, never from the middle of these lines.
 */
const GNU_C = [
  'total 8',
  'lrwxrwxrwx 1 root root  20 Mar  4 10:12 mail.cfg -> /etc/xen/vm/mail.cfg',
  'lrwxrwxrwx. 1 root root  11 Dec 31  2023 dns.cfg -> ../dns.cfg',
  '-rw-r--r-- 1 root root 312 Jan 12 09:01 legacy.cfg',
  'drwxr-xr-x 2 root root 4096 Jan 12 09:01 old',
  '',
].join('\n');

const GNU_DE = [
  'insgesamt 0',
  'lrwxrwxrwx 1 root root 20  4. Mär 10:12 mail.cfg -> /etc/xen/vm/mail.cfg',
  'lrwxrwxrwx 1 root root 22 12. Jän 2024  web -> /etc/xen/vm/web.cfg',
  '',
].join('\n');

const LONG_ISO = 'lrwxrwxrwx 1 root root 20 2024-03-04 10:12 mail.cfg -> /etc/xen/vm/mail.cfg\n';

const BUSYBOX = [
  'lrwxrwxrwx    1 root     root            20 Mar  4 10:12 mail.cfg -> /etc/xen/vm/mail.cfg',
  '-rw-r--r--    1 root     root           312 Mar  4 10:12 legacy.cfg',
  '',
].join('\n');

describe('parseLsLong (ls -l of /etc/xen/auto, with the names from ls -1)', () => {
  it('reads GNU ls in the C locale: links with absolute and relative targets, a regular file, a directory', () => {
    const r = parseLsLong(GNU_C, ['dns.cfg', 'legacy.cfg', 'mail.cfg', 'old']);
    expect(r.entries).toEqual([
      { name: 'mail.cfg', kind: 'link', target: '/etc/xen/vm/mail.cfg' },
      { name: 'dns.cfg', kind: 'link', target: '../dns.cfg' },
      { name: 'legacy.cfg', kind: 'file', target: null },
      { name: 'old', kind: 'other', target: null },
    ]);
    expect(r.unparsed).toEqual([]);
    expect(r.unmatched).toEqual([]);
  });

  it('does not care how the date is written (German locale, long-iso, BusyBox columns)', () => {
    // A German "total" line is not known: it is reported, not mistaken for an entry.
    const de = parseLsLong(GNU_DE, ['mail.cfg', 'web']);
    expect(de.entries).toEqual([
      { name: 'mail.cfg', kind: 'link', target: '/etc/xen/vm/mail.cfg' },
      { name: 'web', kind: 'link', target: '/etc/xen/vm/web.cfg' },
    ]);
    expect(de.unparsed).toEqual([{ lineNumber: 1, line: 'insgesamt 0' }]);
    expect(parseLsLong(LONG_ISO, ['mail.cfg']).entries).toEqual([{ name: 'mail.cfg', kind: 'link', target: '/etc/xen/vm/mail.cfg' }]);
    expect(parseLsLong(BUSYBOX, ['legacy.cfg', 'mail.cfg']).entries).toEqual([
      { name: 'mail.cfg', kind: 'link', target: '/etc/xen/vm/mail.cfg' },
      { name: 'legacy.cfg', kind: 'file', target: null },
    ]);
  });

  it('takes the whole name when one name ends another ("a b.cfg" is not "b.cfg"), and a target containing " -> "', () => {
    const text = [
      'lrwxrwxrwx 1 root root 17 Mar  4 10:12 a b.cfg -> /etc/xen/vm/b.cfg',
      'lrwxrwxrwx 1 root root 20 Mar  4 10:12 b.cfg -> /srv/x -> y/b.cfg',
    ].join('\n');
    expect(parseLsLong(text, ['a b.cfg', 'b.cfg']).entries).toEqual([
      { name: 'a b.cfg', kind: 'link', target: '/etc/xen/vm/b.cfg' },
      { name: 'b.cfg', kind: 'link', target: '/srv/x -> y/b.cfg' },
    ]);
  });

  it('reports what it cannot place instead of guessing: unknown lines, names no line accounts for', () => {
    const r = parseLsLong('ls: cannot read symbolic link mail.cfg\nlrwxrwxrwx 1 root root 20 Mar  4 10:12 ghost.cfg -> /x.cfg\n', [
      'mail.cfg',
    ]);
    expect(r.entries).toEqual([]);
    expect(r.unparsed.map((u) => u.lineNumber)).toEqual([1, 2]);
    expect(r.unmatched).toEqual(['mail.cfg']);
  });

  it('without the plain listing, falls back to the word before " -> " (links) and the last word (files)', () => {
    expect(parseLsLong(GNU_C, null).entries.map((e) => [e.name, e.kind, e.target])).toEqual([
      ['mail.cfg', 'link', '/etc/xen/vm/mail.cfg'],
      ['dns.cfg', 'link', '../dns.cfg'],
      ['legacy.cfg', 'file', null],
      ['old', 'other', null],
    ]);
  });

  it('splits ls -1 output into names, keeping spaces inside names and dropping CRs and blank lines', () => {
    expect(plainNames('a b.cfg\r\nmail.cfg\n\n')).toEqual(['a b.cfg', 'mail.cfg']);
  });
});
