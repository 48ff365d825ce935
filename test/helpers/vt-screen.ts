/**
 * A small terminal screen: what a person at a VT100-like terminal `columns` wide sees after the given output. It
 * understands what Node's readline and the terminal adapter write (text, CR, LF as the TTY's onlcr makes it, cursor
 * moves `ESC[nA/B/C/D`, `ESC[nG`, erase `ESC[J`/`ESC[K`/`ESC[2K`); each code point takes one column. Lines wrap at
 * `columns`, the cursor staying past the last column until the next character, as xterm does.
 */
export function screen(output: string, columns = 80): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = (r: number): string[] => {
    while (rows.length <= r) rows.push([]);
    return rows[r] as string[];
  };
  const chars = Array.from(output);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '\x1b' && chars[i + 1] === '[') {
      let j = i + 2;
      let params = '';
      while (j < chars.length && /[0-9;?]/.test(chars[j] as string)) params += chars[j++];
      const op = chars[j];
      const n = params === '' ? 1 : Number(params.split(';')[0]);
      if (op === 'A') row = Math.max(0, row - n);
      else if (op === 'B') row += n;
      else if (op === 'C') col = Math.min(columns - 1, col + n);
      else if (op === 'D') col = Math.max(0, Math.min(col, columns - 1) - n);
      else if (op === 'G') col = Math.min(columns - 1, n - 1);
      else if (op === 'J') {
        line(row).length = Math.min(line(row).length, col);
        rows.length = row + 1;
      } else if (op === 'K') {
        const cells = line(row);
        if (params === '2') cells.length = 0;
        else cells.length = Math.min(cells.length, col);
      } else throw new Error(`screen: unknown escape ESC[${params}${op}`);
      i = j;
      continue;
    }
    if (c === '\r') col = 0;
    else if (c === '\n') {
      row++;
      col = 0;
    } else {
      if (col >= columns) {
        row++;
        col = 0;
      }
      const cells = line(row);
      while (cells.length < col) cells.push(' ');
      cells[col++] = c;
    }
    line(row);
  }
  return rows.map((r) => r.join('').trimEnd());
}
