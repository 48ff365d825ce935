// biome-ignore-all lint/suspicious/noControlCharactersInRegex: stripping escape sequences and control bytes is what this module is for
import { CONSOLE_LINE_CHARS, CONSOLE_READ_BYTES } from '../../core/console-snapshot.ts';
import { showControls } from '../../core/control-chars.ts';
import { countText, cutAt } from '../../core/cut-text.ts';

/**
 * Console output is raw terminal traffic: colour codes, cursor movement, carriage returns, bells. Strip it to
 * plain lines before it reaches a chat (where escape bytes render as garbage or break formatting).
 */
// Every ECMA-48 / VT form, whole: one matched only in part leaves its tail as text (apt's ESC 7 / ESC 8 save and
// restore showed as "7"/"8", a reset's ESC c as "c"). CSI; control strings (OSC, DCS, SOS, PM, APC) up to BEL or
// ST; ESC + intermediates 0x20-0x2F + final (ESC ( B, ESC # 8); ESC + final 0x30-0x7E; 8-bit CSI; a bare ESC.
// A capture ends wherever `timeout` or `tail` cut it, so the last of these may lack its final byte or terminator:
// taken whole at the very end of the text (never across a line end), before `ESC [` / `ESC ]` would match as a
// two-byte escape and leave the parameters or a window title ("1;3", "0;root@web: ~") as text.
const ANSI =
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[\]PX^_][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[ -/]+[0-~]|\u001b(?:\[[0-?]*[ -/]*|[\]PX^_][^\u0007\u001b\n]*|[ -/]+)$|\u001b[0-~]|\u009b[0-?]*[ -/]*(?:[@-~]|$)|\u001b/g;
// Other C0/C1 controls except TAB and LF (CR is handled first).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function sanitizeConsole(text: string): string {
  return (
    text
      .replace(ANSI, '')
      // CRLF is a line end; a lone CR rewrites the line (progress bars): keep what was written last.
      .replace(/\r\n/g, '\n')
      .split('\n')
      .map((line) => {
        const parts = line.split('\r');
        const shown = overstrike(parts.at(-1) === '' && parts.length > 1 ? (parts.at(-2) ?? '') : (parts.at(-1) ?? ''))
          .replace(CONTROL, '')
          .trimEnd();
        // Bidi overrides and isolates, U+2028/2029: no C0/C1 control, yet they reorder or break the line in a chat
        // (a guest printing RLO would read backwards): shown escaped (`\u202e`), as xenops shows host text.
        return showControls(shown, (c) => (c === '\t' ? c : null));
      })
      .join('\n')
  );
}

/**
 * BS moves the cursor one column left and what follows overwrites (spinners `|\b/\b-`, a corrected login, the
 * BS SPACE BS erase): dropping the BS alone would show every frame glued together.
 */
function overstrike(line: string): string {
  if (!line.includes('\b')) return line;
  const cells: string[] = [];
  let at = 0;
  for (const ch of line) {
    if (ch === '\b') at = Math.max(0, at - 1);
    else cells[at++] = ch;
  }
  return cells.join('');
}

/** The last n lines, without a trailing empty line from the final newline. */
export function lastLines(text: string, n: number): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return n <= 0 ? [] : lines.slice(-n);
}

/** What a bounded console read gives: its last lines, each at most CONSOLE_LINE_CHARS, and what was left out. */
export interface ConsoleTail {
  lines: string[];
  /** Lines cut at CONSOLE_LINE_CHARS (each says so at its end). */
  longLines: number;
  /** The output went on past `limit` bytes: earlier output was not read (and the first line read was partial). */
  full: boolean;
}

/**
 * The last n lines of a bounded read (`tail -c`, or an attach's capture, bounded here), sanitized and each cut at
 * CONSOLE_LINE_CHARS. A read of more than `limit` began inside a line: that partial line is dropped, or, when the
 * window is all one line, kept as its last characters, marked as begun before what was read. `tail -c` is asked for
 * `limit + 1` bytes: an output of exactly `limit` is then told apart from a longer one, and shown whole.
 */
export function consoleTail(raw: string, n: number, limit: number = CONSOLE_READ_BYTES): ConsoleTail {
  // The output is decoded already: its UTF-8 length stands for the bytes read (an invalid byte decoded as U+FFFD
  // counts three, so a short binary log may be taken as going past the window: its first line is then said to be cut).
  const full = raw.length > limit || Buffer.byteLength(raw) > limit;
  // Not slice(-limit): a limit of 0 would keep it all.
  let text = raw.length > limit ? raw.slice(raw.length - limit) : raw;
  let begunBefore = false;
  if (full) {
    const end = text.indexOf('\n');
    if (end >= 0 && end < text.length - 1) text = text.slice(end + 1);
    else begunBefore = true;
  }
  const lines = lastLines(sanitizeConsole(text), n);
  let longLines = 0;
  const cut = lines.map((line, i) => {
    if (begunBefore && i === 0) {
      // Only its end was read: the newest characters are the ones to keep.
      const start = Math.max(0, line.length - CONSOLE_LINE_CHARS);
      const tail = line.slice(start + (start > 0 && isLowSurrogate(line.charCodeAt(start)) ? 1 : 0));
      longLines++;
      return `[… earlier characters not read] ${tail}`;
    }
    const c = cutAt(line, CONSOLE_LINE_CHARS);
    if (!c) return line;
    longLines++;
    return `${c.kept} … [${countText(c.left)} more characters]`;
  });
  return { lines: cut, longLines, full };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
