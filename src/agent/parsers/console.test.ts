import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { lastLines, sanitizeConsole } from './console.ts';

describe('sanitizeConsole', () => {
  it('keeps plain console text (the attached xl console sample) as it is', () => {
    const text = fixture('xl-console-attach-screen__lia-lab-xen-4.9.txt');
    expect(sanitizeConsole(text)).toBe(text);
    expect(lastLines(sanitizeConsole(text), 2)).toEqual([
      '64 bytes from lt-in-f113.1e100.net (108.177.14.113): icmp_seq=1960 ttl=45 time=51.2 ms',
      '64 bytes from lt-in-f113.1e100.net (108.177.14.113): icmp_seq=1961 ttl=45 time=45.5 ms',
    ]);
  });

  it('strips colours, cursor moves, OSC titles, charset selects and control bytes', () => {
    expect(sanitizeConsole('\u001b[1;32mOK\u001b[0m boot\u0007\n\u001b]0;title\u0007\u001b(Blogin: \u001b[2J\u001b[H')).toBe(
      'OK boot\nlogin:',
    );
  });

  it('strips apt/dpkg progress save and restore cursor (ESC 7 / ESC 8) without leaving "7" or "8"', () => {
    // apt's install-progress.cc: DECSC, scroll region, DECRC, then the progress line between another save/restore pair.
    const text =
      '\u001b7\u001b[0;23r\u001b8\u001b[1A\n' +
      '\u001b7\u001b[24;0f\u001b[42m\u001b[30mProgress: [ 40%]\u001b[49m\u001b[39m [#######.........] \u001b8\n';
    expect(sanitizeConsole(text)).toBe('\nProgress: [ 40%] [#######.........]\n');
  });

  it('strips every two-byte escape (ESC c reset, ESC =, ESC >, ESC M) whole', () => {
    expect(sanitizeConsole('\u001bcDebian GNU/Linux 12 web hvc0\n')).toBe('Debian GNU/Linux 12 web hvc0\n');
    expect(sanitizeConsole('a\u001b=b\u001b>c\u001bMd\u001b\\e\n')).toBe('abcde\n');
  });

  it('strips escapes with intermediate bytes (ESC # 8, ESC % G, ESC ( B, ESC ) 0) whole', () => {
    expect(sanitizeConsole('\u001b#8\u001b%G\u001b(B\u001b)0login:\n')).toBe('login:\n');
  });

  it('strips control strings (DCS, APC) up to ST, and a bare ESC cut off at the end of a capture', () => {
    expect(sanitizeConsole('\u001bP1$r0m\u001b\\ok\u001b_app\u001b\\\n')).toBe('ok\n');
    expect(sanitizeConsole('boot\u001b')).toBe('boot');
  });

  it('treats CRLF as line ends and a lone CR as an overwrite', () => {
    expect(sanitizeConsole('a\r\nb\r\n')).toBe('a\nb\n');
    expect(sanitizeConsole('progress 10%\rprogress 99%\rdone\n')).toBe('done\n');
  });

  it('lastLines returns at most n lines without the trailing empty one', () => {
    expect(lastLines('a\nb\nc\n', 2)).toEqual(['b', 'c']);
    expect(lastLines('a\nb\n', 10)).toEqual(['a', 'b']);
    expect(lastLines('a\n', 0)).toEqual([]);
  });
});
