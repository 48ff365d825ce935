// biome-ignore-all lint/suspicious/noControlCharactersInRegex: stripping escape sequences and control bytes is what this module is for
import { showControls } from '../../core/control-chars.ts';

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
