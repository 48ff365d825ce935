import { type Block, formatTable, overflowFileName, type Reply } from '../../core/reply.ts';

/** Telegram's limit is 4096 characters after entity parsing; tags do not count, escapes count once. */
export const TELEGRAM_TEXT_LIMIT = 4096;

const MARK: Record<Reply['tone'], string> = { success: '✅', info: 'ℹ️', warning: '⚠️', error: '⛔', progress: '⏳' };

/** HTML parse mode needs only &, < and > escaped (also inside <pre>). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function blockHtml(block: Block): { html: string; plain: string } {
  switch (block.type) {
    case 'text':
      return { html: escapeHtml(block.text), plain: block.text };
    case 'fields': {
      const plain = block.fields.map((f) => `${f.name}: ${f.value}`).join('\n');
      return { html: block.fields.map((f) => `<b>${escapeHtml(f.name)}</b>: ${escapeHtml(f.value)}`).join('\n'), plain };
    }
    case 'table': {
      const text = formatTable(block.table);
      const caption = block.caption ? `${escapeHtml(block.caption)}\n` : '';
      return { html: `${caption}<pre>${escapeHtml(text)}</pre>`, plain: `${block.caption ? `${block.caption}\n` : ''}${text}` };
    }
    case 'code':
      return { html: `<pre>${escapeHtml(block.text)}</pre>`, plain: block.text };
    default:
      return block satisfies never;
  }
}

/** Length as Telegram counts it: the text after entity parsing (tags gone, entities decoded). */
export function visibleLength(html: string): number {
  return html.replace(/<[^>]+>/g, '').replace(/&(amp|lt|gt|quot);/g, 'x').length;
}

/** A Telegram user id: a positive integer. */
const USER_ID = /^[1-9]\d{0,15}$/;

/** The Telegram users a reply mentions, with the name each link shows (deduplicated by user). */
export function telegramMentions(reply: Reply): { name: string; userId: string }[] {
  const seen = new Set<string>();
  return (reply.mentions ?? []).flatMap((m) =>
    m.identities
      .filter((i) => i.platform === 'telegram' && USER_ID.test(i.userId) && !seen.has(i.userId))
      .map((i) => {
        seen.add(i.userId);
        return { name: m.person, userId: i.userId };
      }),
  );
}

/** `🔔 <a href="tg://user?id=ID">name</a> …`: a text mention notifies the user (in a group they are in), or ''. */
export function mentionHtml(users: readonly { name: string; userId: string }[]): string {
  return users.length ? `🔔 ${users.map((u) => `<a href="tg://user?id=${u.userId}">${escapeHtml(u.name)}</a>`).join(' ')}` : '';
}

export interface TelegramMessage {
  html: string;
  /** The users the html mentions (a new message notifies them; an edit does not). */
  mentions: { name: string; userId: string }[];
  /** Images to send after the message with sendPhoto (shown inline), each with its description as the caption. */
  photos: { name: string; data: Buffer; caption?: string }[];
  /** Files to send after the message: the reply's other attachments, plus the whole text when it did not fit. */
  documents: { name: string; data: Buffer }[];
}

/** Telegram's limit for a photo caption (plain text here: no parse mode, nothing to escape). */
export const TELEGRAM_CAPTION_LIMIT = 1024;

/** Image types sendPhoto takes and shows as a photo (others, GIFs included, go as documents). */
const PHOTO_TYPES = new Set(['image/png', 'image/jpeg']);

/** A caption within 1024 characters as Telegram counts them (UTF-16 units), cut with an ellipsis; undefined when empty. */
export function photoCaption(description: string | undefined): string | undefined {
  const text = description?.trim();
  if (!text) return undefined;
  if (text.length <= TELEGRAM_CAPTION_LIMIT) return text;
  let cutAt = TELEGRAM_CAPTION_LIMIT - 1;
  // Never split a surrogate pair.
  if (/[\uD800-\uDBFF]/.test(text.charAt(cutAt - 1))) cutAt--;
  return `${text.slice(0, cutAt)}…`;
}

/** Telegram's limit for the text of a callback query's answer (an alert or a toast). */
export const TELEGRAM_ALERT_LIMIT = 200;

/** The reply as plain text, its mark and title first (what an alert shows: it takes no markup). */
function plainText(reply: Reply): string {
  return [`${MARK[reply.tone]} ${reply.title}`, ...reply.blocks.map((b) => blockHtml(b).plain)].join('\n');
}

/**
 * The reply as an alert's plain text (answerCallbackQuery takes no markup), or null when it would not be the whole
 * reply: longer than `limit` (UTF-16 units, which is at least what Telegram counts), or with files or buttons an alert
 * cannot carry.
 */
export function alertText(reply: Reply, limit = TELEGRAM_ALERT_LIMIT): string | null {
  if (reply.attachments?.length || reply.actions?.length) return null;
  const text = plainText(reply);
  return text.length <= limit ? text : null;
}

/**
 * As much of the reply as fits in an alert with `tail` after it (cut at a character, never inside a surrogate pair,
 * marked with an ellipsis): for when the whole reply has no other way to its reader.
 */
export function cutAlertText(reply: Reply, tail: string, limit = TELEGRAM_ALERT_LIMIT): string {
  const whole = plainText(reply);
  if (whole.length + tail.length <= limit) return `${whole}${tail}`;
  let cutAt = Math.max(0, limit - tail.length - 1);
  if (/[\uD800-\uDBFF]/.test(whole.charAt(cutAt - 1))) cutAt--;
  return `${whole.slice(0, cutAt)}…${tail}`;
}

/** A neutral reply as Telegram HTML; what does not fit in 4096 characters goes as a .txt document, never cut. */
export function renderTelegram(reply: Reply): TelegramMessage {
  const mentions = telegramMentions(reply);
  const ping = mentionHtml(mentions);
  const head = `${MARK[reply.tone]} <b>${escapeHtml(reply.title)}</b>${ping ? `\n${ping}` : ''}`;
  const parts = reply.blocks.map(blockHtml);
  const html = [head, ...parts.map((p) => p.html)].join('\n');
  const photos: TelegramMessage['photos'] = [];
  const documents: TelegramMessage['documents'] = [];
  for (const a of reply.attachments ?? []) {
    const data = Buffer.from(typeof a.data === 'string' ? a.data : a.data);
    if (PHOTO_TYPES.has(a.contentType.toLowerCase()) && typeof a.data !== 'string') {
      const caption = photoCaption(a.description);
      photos.push({ name: a.name, data, ...(caption ? { caption } : {}) });
    } else documents.push({ name: a.name, data });
  }
  if (visibleLength(html) <= TELEGRAM_TEXT_LIMIT) return { html, mentions, photos, documents };
  const plain = [reply.title, ...parts.map((p) => p.plain)].join('\n\n');
  const name = overflowFileName(reply.title);
  return {
    mentions,
    html: `${head}\n<i>The full output (${plain.split('\n').length} lines) is attached as ${escapeHtml(name)}.</i>`,
    photos,
    documents: [{ name, data: Buffer.from(`${plain}\n`) }, ...documents.filter((d) => d.name !== name)],
  };
}
