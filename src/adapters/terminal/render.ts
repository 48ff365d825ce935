import { showControls } from '../../core/control-chars.ts';
import { type Block, formatTable, type Reply } from '../../core/reply.ts';

const MARK: Record<Reply['tone'], string> = { success: '✔', info: 'ℹ', warning: '⚠', error: '✖', progress: '…' };

/**
 * Text for the operator's terminal. Much of a reply is host-derived (a domain name `xl list` printed, a line of
 * `xl uptime`, stderr) or typed on another platform (a reason on an approval card): its control characters are shown
 * escaped, as /audit shows them; tabs and line breaks stay (a CRLF becomes a line break).
 */
function visible(text: string): string {
  return showControls(text, (c) => (c === '\r\n' ? '\n' : c === '\n' || c === '\t' ? c : null));
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
