/** C0 and C1 controls, DEL, CRLF, and the characters that break or reorder a line (U+2028/2029, bidi controls). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters to show them escaped is the point
const CONTROLS = /\r\n|[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from hosts or chat with its control characters shown (`\x1b`, `\u202e`) instead of acting: an escape
 * sequence would reach a terminal (OSC 52 writes the clipboard, CSI moves the cursor), a CR or a line break would
 * forge a line or a table row, a bidi control reorder what is read. `keep` says what a character (or CRLF) becomes
 * instead, where the caller has its own rule for it (null: escaped).
 */
export function showControls(text: string, keep: (c: string) => string | null = () => null): string {
  return text.replace(CONTROLS, (c) => {
    const kept = keep(c);
    if (kept !== null) return kept;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** How much of a host's line a note quotes: enough to recognise it, never a screenful of host output. */
const QUOTED_CHARS = 72;

/** A line a host printed, as a note quotes it: cut short (with …) and with its control characters shown. */
export function quoteHostLine(line: string): string {
  return showControls(line.length > QUOTED_CHARS ? `${line.slice(0, QUOTED_CHARS - 1)}…` : line);
}
