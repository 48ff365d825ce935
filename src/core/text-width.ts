import stringWidth from 'string-width';

/** Printable ASCII only: one column a character, as `.length` counts. */
const PLAIN = /^[\x20-\x7e]*$/;

/**
 * The columns `text` takes on a terminal or in a monospace code block: East Asian wide characters and emoji take two,
 * combining marks and zero-width characters none, as string-width counts them. Plain ASCII (nearly every cell of every
 * table) is counted by its length: string-width segments graphemes (~20 µs a cell), which cost every /list ~6 ms.
 */
export function displayWidth(text: string): number {
  return PLAIN.test(text) ? text.length : stringWidth(text);
}

/** `text` padded with spaces to `width` columns, at the end (or at the start: `start`). */
export function padToWidth(text: string, width: number, start = false): string {
  const pad = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return start ? pad + text : text + pad;
}
