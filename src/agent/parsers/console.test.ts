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
