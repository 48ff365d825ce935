import { displayWidth, padToWidth } from './text-width.ts';

/**
 * The platform-neutral reply. Adapters render it (Discord embed + attachments, Telegram HTML, terminal text).
 * Blocks keep their order; a renderer that cannot fit a block moves it into an attachment rather than cut it.
 */
export type Tone = 'info' | 'success' | 'warning' | 'error' | 'progress';

export interface Field {
  name: string;
  value: string;
  inline?: boolean;
}

export interface Table {
  columns: string[];
  rows: string[][];
  /** Column indexes to right-align (numbers). */
  alignRight?: number[];
  /**
   * Widths (in columns) a column is padded to at most: a wider cell ends its line, and the row's next cells go on
   * the next line under their columns (/help's usages: padding every row to the longest made the list too wide).
   */
  maxWidths?: number[];
}

export type Block =
  | { type: 'text'; text: string }
  | { type: 'fields'; fields: Field[] }
  | { type: 'table'; caption?: string; table: Table }
  /** Verbatim output (console snapshots, transcripts): monospace, never reflowed. */
  | { type: 'code'; text: string };

export interface Attachment {
  name: string;
  contentType: string;
  data: Uint8Array | string;
  description?: string;
}

/** A button. `id` is opaque and looked up server-side; the click is authorized again for whoever clicks. */
export interface Action {
  id: string;
  label: string;
  style: 'primary' | 'secondary' | 'success' | 'danger';
}

/**
 * Someone the reply calls for (the on-call approver): one entry per person, with every platform identity they have.
 * Each adapter mentions the person the way its platform notifies (Discord `<@id>` in the content, Telegram a
 * `tg://user` link, the terminal `@name`) and ignores the identities of other platforms.
 */
export interface Mention {
  /** The config person id, shown as the mention's text where the platform shows one. */
  person: string;
  identities: { platform: 'terminal' | 'discord' | 'telegram'; userId: string }[];
}

export interface Reply {
  /** progress = more updates will follow (edited in place); result/error are final. */
  kind: 'progress' | 'result' | 'error';
  tone: Tone;
  title: string;
  blocks: Block[];
  attachments?: Attachment[];
  actions?: Action[];
  /** People to notify. Absent on later updates of the same message, so an edited message stops mentioning them. */
  mentions?: Mention[];
  /** Errors and denials: shown only to the asker where the platform can (Discord ephemeral). */
  private?: boolean;
  /** An error that is a refusal (the asker may not do this): counted as `refused`, not as an error. */
  refused?: boolean;
  /**
   * Messages this reply says come now, each delivered later to a target carrying its key (ReplyTarget.due): a
   * scripted terminal waits for them before it ends, as the person reading the reply would.
   */
  due?: DueDelivery[];
}

/** A message said to come now, with no request of the asker's behind it (a new `every` schedule's first post). */
export interface DueDelivery {
  /** Opaque: matched against ReplyTarget.due, nothing more. */
  key: string;
  /** What it is, as said while it is waited for: "the first post of schedule S5WW8Y". */
  what: string;
}

export function isFinal(reply: Reply): boolean {
  return reply.kind !== 'progress';
}

export const reply = {
  result(title: string, blocks: Block[] = [], extra: Partial<Pick<Reply, 'tone' | 'attachments' | 'actions'>> = {}): Reply {
    return { kind: 'result', tone: extra.tone ?? 'success', title, blocks, ...omitTone(extra) };
  },
  progress(title: string, message: string, percent?: number): Reply {
    const text = percent === undefined ? message : `${message} (${Math.round(percent)}%)`;
    return { kind: 'progress', tone: 'progress', title, blocks: [{ type: 'text', text }] };
  },
  error(title: string, message: string, usage?: string): Reply {
    const blocks: Block[] = [{ type: 'text', text: message }];
    if (usage) blocks.push({ type: 'code', text: usage });
    return { kind: 'error', tone: 'error', title, blocks, private: true };
  },
  /** A local command's refusal: `Not allowed` and why (what the pipeline's refusals say for chat commands). */
  notAllowed(why: string): Reply {
    return { ...reply.error('Not allowed', why), refused: true };
  },
  text(text: string): Block {
    return { type: 'text', text };
  },
  table(table: Table, caption?: string): Block {
    return caption === undefined ? { type: 'table', table } : { type: 'table', caption, table };
  },
  fields(fields: Field[]): Block {
    return { type: 'fields', fields };
  },
  code(text: string): Block {
    return { type: 'code', text };
  },
};

function omitTone(extra: Partial<Pick<Reply, 'tone' | 'attachments' | 'actions'>>): Partial<Pick<Reply, 'attachments' | 'actions'>> {
  const out: Partial<Pick<Reply, 'attachments' | 'actions'>> = {};
  if (extra.attachments) out.attachments = extra.attachments;
  if (extra.actions) out.actions = extra.actions;
  return out;
}

/** Renders a table as aligned monospace text; every adapter's fallback and the terminal's native form. */
export function formatTable(table: Table): string {
  // In columns, not UTF-16 units: a guest named in CJK (two columns a character) or with a combining accent (none).
  const widths = table.columns.map((c, i) =>
    Math.min(
      table.maxWidths?.[i] ?? Number.POSITIVE_INFINITY,
      Math.max(displayWidth(c), ...table.rows.map((r) => displayWidth(r[i] ?? ''))),
    ),
  );
  const right = new Set(table.alignRight ?? []);
  const line = (cells: string[]) => {
    const lines: string[] = [];
    let text = '';
    cells.forEach((cell, i) => {
      const width = widths[i] ?? 0;
      if (i < cells.length - 1 && table.maxWidths?.[i] !== undefined && displayWidth(cell) > width) {
        lines.push((text + cell).trimEnd());
        text = ' '.repeat(widths.slice(0, i + 1).reduce((n, w) => n + w + 2, 0));
      } else text += `${padToWidth(cell, width, right.has(i))}  `;
    });
    const rest = text.trimEnd();
    return [...lines, ...(rest === '' && lines.length > 0 ? [] : [rest])].join('\n');
  };
  return [line(table.columns), ...table.rows.map(line)].join('\n');
}

/** A file name for output that did not fit in a message: the title, made safe, as .txt. */
export function overflowFileName(title: string): string {
  return `${
    title
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'reply'
  }.txt`;
}
