import { type Block, formatTable, overflowFileName, type Reply } from '../../core/reply.ts';

/** Files per message (more and Discord refuses the message). */
const MAX_FILES = 10;

/**
 * Discord's default upload limits: a file (more in boosted guilds), and the whole request. Past either, Discord
 * refuses the message whole (413): the text and the title would not arrive either.
 */
const FILE_BYTES = 10 * 1024 * 1024;
const REQUEST_BYTES = 25 * 1024 * 1024;

/** Room kept in the request for the JSON payload and the multipart framing around the files. */
const PAYLOAD_BYTES = 256 * 1024;

/** Discord's embed limits (API v10). */
export const LIMITS = { title: 256, description: 4096, fields: 25, fieldName: 256, fieldValue: 1024, footer: 2048, total: 6000 } as const;

const COLOR: Record<Reply['tone'], number> = { success: 0x2e7d32, info: 0x1565c0, warning: 0xef6c00, error: 0xc62828, progress: 0x757575 };

export interface DiscordPayload {
  embeds: {
    title: string;
    description?: string;
    color: number;
    fields?: { name: string; value: string; inline?: boolean }[];
    /** `attachment://<file name>`: the first image attachment, shown inside the embed (not again as a file). */
    image?: { url: string };
  }[];
  /** Uploaded with the message; an edit uploads them again and keeps no older file (replaced, not duplicated). */
  files: { name: string; data: Buffer; contentType?: string; description?: string }[];
  components: { type: 1; components: { type: 2; style: number; label: string; custom_id: string }[] }[];
  /**
   * `<@id>` mentions: embeds never notify, so they go in the message content — as many as fit in its 2000
   * characters, then `and N more` (those get messages of their own: see `mentionMessages`).
   */
  content: string;
  /** Only the users named in `content` are pinged (never @everyone, roles or anything a text happens to hold). */
  allowedMentions: { parse: []; users: string[] };
  /** Everyone the reply mentions: those in `content` first. */
  mentions: string[];
}

/** A Discord user id (snowflake). */
const SNOWFLAKE = /^\d{15,21}$/;

/** Discord's limit for message content. */
const CONTENT_LIMIT = 2000;

/** Users one message may name in allowed_mentions. */
const MENTIONS_PER_MESSAGE = 100;

/** Room kept in a message's content for the ` and N more` after its mentions. */
const MORE_ROOM = 16;

/** The Discord users a reply mentions (deduplicated). */
export function discordMentions(reply: Reply): string[] {
  const ids = (reply.mentions ?? []).flatMap((m) =>
    m.identities.filter((i) => i.platform === 'discord' && SNOWFLAKE.test(i.userId)).map((i) => i.userId),
  );
  return [...new Set(ids)];
}

/** The content that pings `users`: `🔔 <@a> <@b>`, or '' for none. */
export function mentionContent(users: readonly string[]): string {
  return users.length ? `🔔 ${users.map((u) => `<@${u}>`).join(' ')}` : '';
}

/** How many of `users`, from the first, `mentionContent` can hold in `room` characters and one allowed_mentions list. */
function mentionsFitting(users: readonly string[], room: number): number {
  let length = '🔔'.length;
  let n = 0;
  for (const u of users) {
    length += ` <@${u}>`.length;
    if (length > room || n === MENTIONS_PER_MESSAGE) break;
    n++;
  }
  return n;
}

/**
 * The messages that ping `users` after a message that did not (an edit notifies nobody): as few as hold them all,
 * each within 2000 characters and 100 users, each ending with the title so it says what it is about.
 */
export function mentionMessages(users: readonly string[], title: string): { content: string; users: string[] }[] {
  // Message content is markdown too: the title is data, as in the embed.
  const about = ` ${cutMarkdown(escapeMarkdown(title), LIMITS.title)}`;
  const messages: { content: string; users: string[] }[] = [];
  for (let rest = users; rest.length > 0; ) {
    const batch = rest.slice(0, Math.max(1, mentionsFitting(rest, CONTENT_LIMIT - about.length)));
    messages.push({ content: `${mentionContent(batch)}${about}`, users: batch });
    rest = rest.slice(batch.length);
  }
  return messages;
}

const STYLE = { primary: 1, secondary: 2, success: 3, danger: 4 } as const;

/**
 * Text as Discord markdown that shows exactly that text. Reply text is plain (Telegram and the terminal show it
 * as is) and mostly host-derived: a valid domain name like `db__old__2` would otherwise lose its underscores to
 * underline, a note could quote `*`, `~~`, `||` or a `# ` line. Discord drops a backslash before any ASCII
 * punctuation, so an escape never shows. Parentheses are left alone (no link forms once `[` `]` are escaped),
 * and `#`, `-`, `+` and `1.` act only at the start of a line (headings, subtext, lists).
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\*_~|`<>[\]]/g, '\\$&')
    .replace(/^([ \t]*)([-+#])(?=[ \t#])/gm, '$1\\$2')
    .replace(/^([ \t]*\d+)\.(?=[ \t])/gm, '$1\\.');
}

function blockText(block: Block, esc: (text: string) => string = escapeMarkdown): string {
  switch (block.type) {
    case 'text':
      return esc(block.text);
    case 'fields':
      return block.fields.map((f) => `**${esc(f.name)}**: ${esc(f.value)}`).join('\n');
    case 'table':
      return `${block.caption ? `${esc(block.caption)}\n` : ''}\`\`\`\n${formatTable(block.table).replace(/```/g, "'''")}\n\`\`\``;
    case 'code':
      return `\`\`\`\n${block.text.replace(/```/g, "'''") || ' '}\n\`\`\``;
    default:
      return block satisfies never;
  }
}

/** Image types Discord shows inline in an embed. */
const EMBEDDABLE = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Alt text of an attachment: Discord takes up to 1024 characters. */
const ATTACHMENT_DESCRIPTION = 1024;

/**
 * A file name Discord keeps as given, so `attachment://name` finds it: Discord turns other characters (spaces…)
 * into underscores on upload, and an embed naming the original would then show no image.
 */
export function discordFileName(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 100) || 'file'
  );
}

function cut(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/**
 * `cut` for escaped markdown: never between a backslash and the character it escapes (the character would show
 * unescaped, or the backslash vanish before the `…`), nor inside a surrogate pair.
 */
export function cutMarkdown(s: string, n: number): string {
  if (s.length <= n) return s;
  let end = n - 1;
  if (/[\uD800-\uDBFF]/.test(s.charAt(end - 1))) end--;
  let slashes = 0;
  while (slashes < end && s.charAt(end - 1 - slashes) === '\\') slashes++;
  if (slashes % 2 === 1) end--;
  return `${s.slice(0, end)}…`;
}

/**
 * A neutral reply as one embed within Discord's limits. Fields become embed fields (≤ 25); text, tables and code
 * go in the description; when that would pass 4096 characters (or the 6000 total), the whole text goes as a file
 * attachment instead and the description says so: output is never cut off.
 */
export function renderDiscord(reply: Reply): DiscordPayload {
  const title = cutMarkdown(escapeMarkdown(reply.title), LIMITS.title);
  const fieldBlocks = reply.blocks.flatMap((b) => (b.type === 'fields' ? b.fields : []));
  // Past 25 they all go in the description (below): 25 of them as fields as well would show those twice.
  let fields = (fieldBlocks.length > LIMITS.fields ? [] : fieldBlocks).map((f) => ({
    name: cutMarkdown(escapeMarkdown(f.name), LIMITS.fieldName),
    value: cutMarkdown(escapeMarkdown(f.value || '-'), LIMITS.fieldValue),
    ...(f.inline ? { inline: true } : {}),
  }));
  const description = reply.blocks
    .filter((b) => b.type !== 'fields' || fieldBlocks.length > LIMITS.fields)
    .map((b) => blockText(b))
    .join('\n');
  const files: DiscordPayload['files'] = (reply.attachments ?? []).map((a) => ({
    name: discordFileName(a.name),
    data: Buffer.from(typeof a.data === 'string' ? a.data : a.data),
    contentType: a.contentType,
    ...(a.description ? { description: cut(a.description, ATTACHMENT_DESCRIPTION) } : {}),
  }));
  const fieldChars = fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
  // Discord refuses a message with more than 10 files — the whole of it, the text too (a /digest of a dozen hosts
  // has a chart each): the rest are left out, and said first. The note counts towards the embed's limits like the
  // text it comes before, so whether the text still fits is decided with it in place.
  let desc = withLeftOut(description, files);
  if (desc.length > LIMITS.description || title.length + desc.length + fieldChars > LIMITS.total) {
    const name = overflowFileName(reply.title);
    const plain = reply.blocks
      .map((b) => (b.type === 'code' ? b.text : b.type === 'table' ? formatTable(b.table) : blockText(b, (t) => t)))
      .join('\n\n');
    const file = { name, data: Buffer.from(`${plain}\n`), contentType: 'text/plain' };
    files.unshift(file);
    const sent = fitFiles(files).kept.includes(file);
    desc = withLeftOut(
      sent ? `The full output is attached as \`${name}\`.` : 'The full output is too long for a message, and too large to send as a file.',
      files,
    );
    // Fields past the 6,000 total on their own (Discord refuses the whole message): they are in the file.
    if (title.length + desc.length + fieldChars > LIMITS.total) fields = [];
  }
  files.splice(0, files.length, ...fitFiles(files).kept);
  const image = files.find((f) => EMBEDDABLE.has((f.contentType ?? '').toLowerCase()));
  const components = reply.actions?.length
    ? [
        {
          type: 1 as const,
          components: reply.actions
            .filter((a) => a.id.length >= 1 && a.id.length <= 100)
            .slice(0, 5)
            .map((a) => ({ type: 2 as const, style: STYLE[a.style], label: cut(a.label, 80), custom_id: a.id })),
        },
      ]
    : [];
  const users = discordMentions(reply);
  const shown = users.slice(0, mentionsFitting(users, CONTENT_LIMIT - MORE_ROOM));
  const more = users.length - shown.length;
  return {
    content: `${mentionContent(shown)}${more > 0 ? ` and ${more} more` : ''}`,
    allowedMentions: { parse: [], users: shown },
    mentions: users,
    embeds: [
      {
        title,
        color: COLOR[reply.tone],
        ...(desc ? { description: desc } : {}),
        ...(fields.length ? { fields } : {}),
        ...(image ? { image: { url: `attachment://${image.name}` } } : {}),
      },
    ],
    files,
    components,
  };
}

/** The files one message can carry, in order, and those it cannot: past the 10th, or too large (alone or together). */
function fitFiles<F extends { name: string; data: Buffer }>(files: readonly F[]): { kept: F[]; tooMany: F[]; tooLarge: F[] } {
  const kept: F[] = [];
  const tooMany: F[] = [];
  const tooLarge: F[] = [];
  let bytes = 0;
  for (const f of files) {
    if (f.data.length > FILE_BYTES || bytes + f.data.length > REQUEST_BYTES - PAYLOAD_BYTES) tooLarge.push(f);
    else if (kept.length >= MAX_FILES) tooMany.push(f);
    else {
      kept.push(f);
      bytes += f.data.length;
    }
  }
  return { kept, tooMany, tooLarge };
}

/** `text` after a note naming the files the message will not carry (none: `text` as it is). */
function withLeftOut(text: string, files: readonly { name: string; data: Buffer }[]): string {
  const { tooMany, tooLarge } = fitFiles(files);
  const notes = [
    ...(tooLarge.length
      ? [
          `${plural(tooLarge.length, 'attachment')} not sent, too large for Discord (10 MiB a file, 25 MiB a message): ${tooLarge
            .map((f) => `${escapeMarkdown(f.name)} (${(f.data.length / (1024 * 1024)).toFixed(1)} MiB)`)
            .join(', ')}`,
        ]
      : []),
    ...(tooMany.length
      ? [
          `${plural(tooMany.length, 'more attachment')} not sent (Discord takes ${MAX_FILES} per message): ${tooMany.map((f) => escapeMarkdown(f.name)).join(', ')}`,
        ]
      : []),
  ];
  if (notes.length === 0) return text;
  const note = cutMarkdown(notes.join('\n'), 1_000);
  return text ? `${note}\n${text}` : note;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
