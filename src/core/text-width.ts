import stringWidth from 'string-width';

/**
 * The columns `text` takes on a terminal or in a monospace code block (what `.length` is for plain ASCII): East Asian
 * wide characters and emoji take two, combining marks and zero-width characters none, as string-width counts them.
 */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/** `text` padded with spaces to `width` columns, at the end (or at the start: `start`). */
export function padToWidth(text: string, width: number, start = false): string {
  const pad = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return start ? pad + text : text + pad;
}
