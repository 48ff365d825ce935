import { showControls } from '../../core/control-chars.ts';
import { type Block, formatTable, type Reply, type Table } from '../../core/reply.ts';
import { displayWidth } from '../../core/text-width.ts';

const MARK: Record<Reply['tone'], string> = { success: '✔', info: 'ℹ', warning: '⚠', error: '✖', progress: '…' };

/**
 * Text for the operator's terminal. Much of a reply is host-derived (a domain name `xl list` printed, a line of
 * `xl uptime`, stderr) or typed on another platform (a reason on an approval card): its control characters are shown
 * escaped, as /audit shows them; tabs and line breaks stay (a CRLF becomes a line break).
 */
function visible(text: string): string {
  return showControls(text, (c) => (c === '\r\n' ? '\n' : c === '\n' || c === '\t' ? c : null));
}

/**
 * `units` joined by `sep` into lines of at most `width` columns, the first after `indent`, the others after `next`
 * (a unit too long has a line of its own).
 */
function wrap(units: string[], sep: string, indent: string, width: number, next = indent): string[] {
  const lines: string[] = [];
  let line = '';
  for (const unit of units) {
    const lead = lines.length === 0 ? indent : next;
    if (line !== '' && displayWidth(lead + line + sep + unit) > width) {
      lines.push(lead + line);
      line = unit;
    } else line = line === '' ? unit : line + sep + unit;
  }
  if (line !== '') lines.push((lines.length === 0 ? indent : next) + line);
  return lines;
}

/**
 * A table too wide for the terminal, one record per row: its first cell, then the others indented below it (the
 * second cell alone when there are two columns, as /help's "usage, what it does"; else `column: value` pairs), wrapped
 * at the terminal's width. Padded columns wider than the screen wrapped every row into a ragged block.
 */
function tableAsRecords(table: Table, width: number): string {
  return table.rows
    .flatMap((row) => {
      const [first = '', ...rest] = row;
      const units =
        table.columns.length === 2
          ? (rest[0] ?? '').split(' ').filter((w) => w !== '')
          : rest.flatMap((cell, i) => (cell === '' ? [] : [`${table.columns[i + 1]}: ${cell}`]));
      // A first cell too long itself (a usage line with many options) goes on, further indented.
      const head = wrap(first.split(' '), ' ', '', width, '    ');
      return [...(head.length ? head : ['']), ...wrap(units, table.columns.length === 2 ? ' ' : '   ', '  ', width)];
    })
    .join('\n');
}

function renderTable(raw: Table, width: number | undefined): string {
  // Cells escaped before the columns are measured: `\x1b` takes four columns where the raw ESC was counted as one.
  const shown = (cell: string) => showControls(cell);
  const table = { ...raw, columns: raw.columns.map(shown), rows: raw.rows.map((r) => r.map(shown)) };
  const text = formatTable(table);
  if (width === undefined || text.split('\n').every((l) => displayWidth(l) <= width)) return text;
  return tableAsRecords(table, width);
}

function renderBlock(block: Block, width: number | undefined): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'fields':
      return block.fields.map((f) => `${f.name}: ${f.value}`).join('\n');
    case 'table':
      return [block.caption, renderTable(block.table, width)].filter((x) => x !== undefined).join('\n');
    case 'code':
      return block.text
        .split('\n')
        .map((l) => `  | ${l}`)
        .join('\n');
    default:
      return block satisfies never;
  }
}

/**
 * Plain text for a terminal: the same neutral reply every chat adapter renders. `attachmentLines` replaces the
 * default one-line summary of each attachment (the adapter passes where it saved them). `width`, the terminal's
 * columns when the output is one: a table wider than that is written one record per row.
 */
export function renderForTerminal(reply: Reply, attachmentLines?: readonly string[], width?: number): string {
  const parts = [`${MARK[reply.tone]} ${reply.title}`];
  // A mention is the name one types after @ to speak as that person: their terminal identity.
  const mentioned = [
    ...new Set((reply.mentions ?? []).flatMap((m) => m.identities.filter((i) => i.platform === 'terminal').map((i) => `@${i.userId}`))),
  ];
  if (mentioned.length) parts.push(`🔔 ${mentioned.join(' ')}`);
  parts.push(...reply.blocks.map((b) => renderBlock(b, width)));
  if (attachmentLines) parts.push(...attachmentLines);
  else
    for (const a of reply.attachments ?? []) {
      const size = typeof a.data === 'string' ? Buffer.byteLength(a.data) : a.data.byteLength;
      parts.push(`[attachment ${a.name}, ${size} bytes${a.description ? `: ${a.description}` : ''}]`);
    }
  for (const action of reply.actions ?? []) parts.push(`[button ${action.label}]`);
  return `${visible(parts.join('\n'))}\n`;
}
