import { Input, Markup, Telegraf, TelegramError } from 'telegraf';
import type { Config } from '../../config/schema.ts';
import { type Logger, redactSecrets, registerSecret } from '../../core/log.ts';
import { isFinal, type Reply } from '../../core/reply.ts';
import type { BotCore, ChatAdapter, CommandSpec, ReplyTarget } from '../types.ts';
import { ChatOutbound } from './outbound.ts';
import { escapeHtml, mentionHtml, renderTelegram, type TelegramMessage } from './render.ts';
import { messageToRequest, type TgMessage } from './to-request.ts';

export interface TelegramAdapterOptions {
  config: Config;
  logger: Logger;
  /** Pacing between sends to one chat (Telegram asks for about 1/s); tests set 0. */
  minIntervalMs?: number;
  /** Messages per minute in a group; Telegram's limit is about 20. */
  groupPerMinute?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Telegram bot commands: 1-32 of a-z 0-9 _, descriptions 1-256. */
export function toBotCommands(specs: readonly CommandSpec[]): { command: string; description: string }[] {
  return specs
    .filter((s) => /^[a-z0-9_]{1,32}$/.test(s.name))
    .map((s) => ({ command: s.name, description: `${s.description}`.slice(0, 256) }))
    .slice(0, 100);
}

function retryAfterOf(error: unknown): number | null {
  if (error instanceof TelegramError && error.code === 429) return error.parameters?.retry_after ?? 1;
  return null;
}

/**
 * The Telegram adapter on telegraf: long polling (or a webhook with a secret token), HTML replies edited in
 * place, image attachments as photos (sendPhoto), documents for other files and for what does not fit, a
 * per-chat outbound queue that honours 429 retry_after.
 * Update handlers return at once: telegraf waits for a whole batch of updates before it fetches more.
 */
export class TelegramAdapter implements ChatAdapter {
  readonly platform = 'telegram' as const;
  private readonly bot: Telegraf;
  private readonly outbound: ChatOutbound;
  private launched: Promise<void> | null = null;
  /** Between launch's "started" callback and the end of polling (or of the webhook server). */
  private running = false;
  /** The core the update handlers feed: they are installed once, so a start after a stop (bot.ha) handles each update once. */
  private core: BotCore | null = null;

  constructor(private readonly options: TelegramAdapterOptions) {
    const token = options.config.telegram?.token ?? process.env['TELEGRAM_BOT_TOKEN'];
    if (!token) throw new Error('Telegram needs a token: telegram.token in the config or TELEGRAM_BOT_TOKEN');
    registerSecret(token);
    const apiRoot = options.config.telegram?.apiRoot ?? process.env['TELEGRAM_API_ROOT'];
    this.bot = new Telegraf(token, { telegram: apiRoot ? { apiRoot } : {}, handlerTimeout: 10_000 });
    const groupPerMinute = options.groupPerMinute ?? 20;
    this.outbound = new ChatOutbound({
      minIntervalMs: options.minIntervalMs ?? 1000,
      // Groups and channels (negative chat ids) take about 20 messages a minute from a bot.
      perMinute: (chatId) => (chatId.startsWith('-') ? groupPerMinute : null),
      retryAfterOf,
      ...(options.sleep ? { sleep: options.sleep } : {}),
    });
  }

  async start(core: BotCore): Promise<void> {
    const { logger, config } = this.options;
    const installed = this.core !== null;
    this.core = core;
    if (!installed) this.install();
    // The menu is a convenience: a server that refuses it must not keep the bot from starting.
    await this.bot.telegram
      .setMyCommands(toBotCommands(core.commandSpecs()))
      .catch((error: unknown) => logger.warn({ err: redactSecrets(String(error)) }, 'setMyCommands failed'));
    const webhook = config.telegram?.mode === 'webhook' ? config.telegram.webhook : undefined;
    await new Promise<void>((resolve, reject) => {
      this.launched = this.bot
        .launch(
          webhook
            ? {
                webhook: {
                  domain: webhook.domain,
                  path: webhook.path,
                  port: webhook.port,
                  host: webhook.listenHost,
                  secretToken: webhook.secretToken,
                },
              }
            : {},
          () => {
            this.running = true;
            resolve();
          },
        )
        .finally(() => {
          this.running = false;
        })
        .catch((error: unknown) => {
          logger.error({ err: redactSecrets(String(error)) }, 'telegram polling stopped');
          reject(new Error(redactSecrets(String(error))));
        });
    });
  }

  /** The update handlers, on the current core. */
  private install(): void {
    const { logger } = this.options;
    const core = () => this.core as BotCore;
    this.bot.catch((error) => logger.error({ err: redactSecrets(String(error)) }, 'telegram update failed (bot keeps running)'));
    this.bot.on('message', (ctx) => {
      const message = ctx.message as unknown as TgMessage;
      const req = messageToRequest(message, ctx.botInfo.username);
      if (!req) return;
      const target: ReplyTarget = {
        platform: 'telegram',
        channelId: String(message.chat.id),
        requestId: req.id,
        state: { replyTo: message.message_id },
      };
      // Not awaited: the job may take minutes and would hold up every other chat's updates.
      void core().handle(req, target);
    });
    this.bot.on('callback_query', async (ctx) => {
      const q = ctx.callbackQuery;
      await ctx.answerCbQuery().catch(() => {});
      if (!('data' in q) || !q.message) return;
      const chat = q.message.chat;
      const target: ReplyTarget = {
        platform: 'telegram',
        channelId: String(chat.id),
        requestId: `tgcb${q.id}`,
        // The answer edits the message holding the button, except a private one (see deliver).
        state: { messageId: q.message.message_id, clicked: true },
      };
      void core().handleAction(
        {
          id: `tgcb${q.id}`,
          actionId: q.data,
          platform: 'telegram',
          actor: { platform: 'telegram', userId: String(q.from.id), roleIds: [], displayName: q.from.username ?? q.from.first_name },
          channel: { id: String(chat.id), kind: chat.type === 'private' ? 'direct' : 'group' },
          receivedAt: Date.now(),
        },
        target,
      );
    });
  }

  connected(): boolean {
    return this.running;
  }

  /** Polling stops first (a bot losing the leader lease must stop receiving at once), then the outbound queue drains. */
  async stop(): Promise<void> {
    this.running = false;
    try {
      this.bot.stop('xenops stopping');
    } catch {
      // not running
    }
    await this.launched?.catch(() => {});
    this.launched = null;
    await this.outbound.idle();
  }

  async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    const chatId = target.channelId;
    const message = renderTelegram(reply);
    const keyboard = reply.actions?.length
      ? Markup.inlineKeyboard(
          reply.actions.filter((a) => Buffer.byteLength(a.id) <= 64).map((a) => Markup.button.callback(a.label.slice(0, 64), a.id)),
        )
      : undefined;
    const messageId = typeof target.state['messageId'] === 'number' ? target.state['messageId'] : null;
    // A private answer to a button click (a denial, "expired"…) goes to the clicker as a reply to the message that
    // holds the button, which stays as it is: editing it would show one person's refusal to everyone in the chat.
    const clickAnswer = messageId !== null && target.state['clicked'] === true && reply.private === true;
    let next = target;
    if (messageId === null || clickAnswer) {
      const replyTo = clickAnswer ? messageId : typeof target.state['replyTo'] === 'number' ? target.state['replyTo'] : undefined;
      const sent = await this.outbound.send(chatId, () =>
        this.bot.telegram.sendMessage(chatId, message.html, {
          parse_mode: 'HTML',
          ...(replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
          ...(keyboard ? keyboard : {}),
        } as Parameters<Telegraf['telegram']['sendMessage']>[2]),
      );
      // A new message notifies the users it mentions.
      const mentioned = message.mentions.map((m) => m.userId);
      if (!clickAnswer)
        next = { ...target, state: { ...target.state, messageId: sent.message_id, ...(mentioned.length ? { mentioned } : {}) } };
    } else {
      await this.outbound
        .send(
          chatId,
          () =>
            this.bot.telegram.editMessageText(chatId, messageId, undefined, message.html, {
              parse_mode: 'HTML',
              // Always said: a reply without actions (a settled approval) takes the inline keyboard away.
              ...(keyboard ? keyboard : { reply_markup: { inline_keyboard: [] } }),
            }),
          // progress edits of one message coalesce; a final reply gets its own slot so it is never replaced
          isFinal(reply) ? { edit: true } : { coalesceKey: `edit:${messageId}`, edit: true },
        )
        .catch((error: unknown) => {
          if (error instanceof TelegramError && /message is not modified/.test(error.description)) return;
          throw error;
        });
      next = await this.ping(target, reply, message.mentions, messageId);
    }
    if (isFinal(reply)) {
      for (const photo of message.photos) await this.sendPhoto(chatId, photo);
      for (const doc of message.documents) {
        await this.outbound.send(chatId, () => this.bot.telegram.sendDocument(chatId, Input.fromBuffer(doc.data, doc.name)));
      }
    }
    return next;
  }

  /**
   * An image as a photo (multipart upload), its description as the caption. A photo Telegram refuses (too large,
   * odd dimensions) goes as a document instead, so the file still arrives.
   */
  private async sendPhoto(chatId: string, photo: TelegramMessage['photos'][number]): Promise<void> {
    try {
      await this.outbound.send(chatId, () =>
        this.bot.telegram.sendPhoto(chatId, Input.fromBuffer(photo.data, photo.name), photo.caption ? { caption: photo.caption } : {}),
      );
    } catch (error) {
      if (!(error instanceof TelegramError) || error.code !== 400) throw error;
      this.options.logger.warn({ err: redactSecrets(String(error)) }, 'photo refused; sending it as a document');
      await this.outbound.send(chatId, () =>
        this.bot.telegram.sendDocument(chatId, Input.fromBuffer(photo.data, photo.name), photo.caption ? { caption: photo.caption } : {}),
      );
    }
  }

  /**
   * Edits notify nobody: after an edit that mentions someone not yet notified for this target, a short message
   * (a reply to the edited one) mentions them. Each person is notified once per target. Never throws.
   */
  private async ping(
    target: ReplyTarget,
    reply: Reply,
    mentions: { name: string; userId: string }[],
    messageId: number,
  ): Promise<ReplyTarget> {
    const before = Array.isArray(target.state['mentioned']) ? target.state['mentioned'].map(String) : [];
    const users = mentions.filter((m) => !before.includes(m.userId));
    if (users.length === 0) return target;
    const chatId = target.channelId;
    try {
      await this.outbound.send(chatId, () =>
        this.bot.telegram.sendMessage(chatId, `${mentionHtml(users)} ${escapeHtml(reply.title)}`, {
          parse_mode: 'HTML',
          reply_parameters: { message_id: messageId, allow_sending_without_reply: true },
        }),
      );
    } catch (error) {
      this.options.logger.warn({ err: redactSecrets(String(error)) }, 'mention could not be sent');
      return target;
    }
    return { ...target, state: { ...target.state, mentioned: [...before, ...users.map((u) => u.userId)] } };
  }

  /** Pins a delivered message quietly (a scheduled post kept up to date in place); in groups the bot must be an admin. */
  async pin(target: ReplyTarget): Promise<void> {
    const messageId = target.state['messageId'];
    if (typeof messageId !== 'number') return;
    await this.outbound.send(
      target.channelId,
      () => this.bot.telegram.pinChatMessage(target.channelId, messageId, { disable_notification: true }),
      {
        edit: true,
      },
    );
  }

  async post(channelId: string, reply: Reply): Promise<ReplyTarget> {
    return this.deliver({ platform: 'telegram', channelId, requestId: `post-${Date.now()}`, state: {} }, reply);
  }
}
