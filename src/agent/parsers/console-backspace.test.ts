import { describe, expect, it } from 'vitest';
import { sanitizeConsole } from './console.ts';

// A terminal moves the cursor one column left on BS and the next character overwrites: what the console shows is
// the overwritten text, not every character ever sent.
describe('sanitizeConsole and backspaces', () => {
  it('shows a spinner (|\\b/\\b-\\b\\\\\\b) as what it left on screen, not every frame glued together', () => {
    expect(sanitizeConsole('Checking disks... |\b/\b-\b\\\bdone\n')).toBe('Checking disks... done\n');
  });

  it('shows characters overwritten after backspaces as overwritten', () => {
    expect(sanitizeConsole('web login: rxxx\b\b\boot\n')).toBe('web login: root\n');
  });

  it('shows the erase idiom (BS SPACE BS) as the character erased', () => {
    expect(sanitizeConsole('Password: ab\b \b\n')).toBe('Password: a\n');
  });

  it('never moves before the start of the line, and keeps what a backspace alone does not erase', () => {
    expect(sanitizeConsole('\b\bok\n')).toBe('ok\n');
    expect(sanitizeConsole('abc\b\n')).toBe('abc\n');
  });
});
