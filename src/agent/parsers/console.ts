// biome-ignore-all lint/suspicious/noControlCharactersInRegex: stripping escape sequences and control bytes is what this module is for
/**
 * Console output is raw terminal traffic: colour codes, cursor movement, carriage returns, bells. Strip it to
 * plain lines before it reaches a chat (where escape bytes render as garbage or break formatting).
 */
// CSI (ESC [ … final), OSC (ESC ] … BEL or ST), two-byte escapes (charset selects ESC ( B, ESC =, …), 8-bit CSI.
const ANSI =
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[()*+][A-Za-z0-9]|\u001b[@-Z\\-_=>]|\u009b[0-?]*[ -/]*[@-~]/g;
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
        return (parts.at(-1) === '' && parts.length > 1 ? (parts.at(-2) ?? '') : (parts.at(-1) ?? '')).replace(CONTROL, '').trimEnd();
      })
      .join('\n')
  );
}

/** The last n lines, without a trailing empty line from the final newline. */
export function lastLines(text: string, n: number): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return n <= 0 ? [] : lines.slice(-n);
}
