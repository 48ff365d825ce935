import { type Block, formatTable, type Reply } from '../../core/reply.ts';

const MARK: Record<Reply['tone'], string> = { success: '✔', info: 'ℹ', warning: '⚠', error: '✖', progress: '…' };

/** C0 controls but TAB and LF, DEL, C1 controls, and what reorders or breaks a line (bidi controls, U+2028/2029). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters to show them escaped is the point
const UNSAFE = /\r\n|[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text for the operator's terminal. Much of a reply is host-derived (a domain name `xl list` printed, a line of
 * `xl uptime`, stderr) or typed on another platform (a reason on an approval card): an escape sequence in it would
 * reach the terminal (OSC 52 writes the clipboard, OSC 0 the title, CSI moves the cursor), a CR would let a line
 * overwrite itself with a forged one. Shown escaped instead (\x1b, as /audit shows them), so the oddity is visible.
 */
function visible(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\r\n') return '\n';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function renderBlock(block: Block): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'fields':
      return block.fields.map((f) => `${f.name}: ${f.value}`).join('\n');
    case 'table':
      return [block.caption, formatTable(block.table)].filter((x) => x !== undefined).join('\n');
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
 * default one-line summary of each attachment (the adapter passes where it saved them).
 */
export function renderForTerminal(reply: Reply, attachmentLines?: readonly string[]): string {
  const parts = [`${MARK[reply.tone]} ${reply.title}`];
  // A mention is the name one types after @ to speak as that person: their terminal identity.
  const mentioned = [
    ...new Set((reply.mentions ?? []).flatMap((m) => m.identities.filter((i) => i.platform === 'terminal').map((i) => `@${i.userId}`))),
  ];
  if (mentioned.length) parts.push(`🔔 ${mentioned.join(' ')}`);
  parts.push(...reply.blocks.map(renderBlock));
  if (attachmentLines) parts.push(...attachmentLines);
  else
    for (const a of reply.attachments ?? []) {
      const size = typeof a.data === 'string' ? Buffer.byteLength(a.data) : a.data.byteLength;
      parts.push(`[attachment ${a.name}, ${size} bytes${a.description ? `: ${a.description}` : ''}]`);
    }
  for (const action of reply.actions ?? []) parts.push(`[button ${action.label}]`);
  return `${visible(parts.join('\n'))}\n`;
}
