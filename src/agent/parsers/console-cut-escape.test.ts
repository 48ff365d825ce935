import { describe, expect, it } from 'vitest';
import { lastLines, sanitizeConsole } from './console.ts';

/**
 * A snapshot ends wherever `timeout` stopped the attach or `tail` found the log's end, so the last escape sequence of a
 * capture may be cut before its final byte. What was cut is no text of the guest's.
 */
describe('sanitizeConsole: an escape sequence cut off at the end of a capture', () => {
  it('drops a CSI cut before its final byte (colour parameters), not showing "[1;3" or "1;3"', () => {
    expect(sanitizeConsole('Debian GNU/Linux 12 web hvc0\n\nweb login: \u001b[1;3')).toBe('Debian GNU/Linux 12 web hvc0\n\nweb login:');
    expect(sanitizeConsole('ok\u001b[?25')).toBe('ok');
    expect(sanitizeConsole('ok\u009b1;3')).toBe('ok');
  });

  it("drops a window-title OSC (bash's PROMPT_COMMAND) cut before its BEL, not showing the title as text", () => {
    const text = 'root@web:~# uptime\r\n 10:01:02 up 3 days\r\n\u001b]0;root@web: ~';
    expect(lastLines(sanitizeConsole(text), 2)).toEqual(['root@web:~# uptime', ' 10:01:02 up 3 days']);
  });

  it('drops an ESC with intermediates cut before its final byte', () => {
    expect(sanitizeConsole('login:\u001b(')).toBe('login:');
  });

  it('never drops the lines after a broken sequence that is not at the end: only the end of a capture cuts one', () => {
    expect(lastLines(sanitizeConsole('\u001b]0;title\nnext line\n'), 1)).toEqual(['next line']);
    expect(lastLines(sanitizeConsole('a\u001b[1;3\nb\n'), 1)).toEqual(['b']);
  });
});
