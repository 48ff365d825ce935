import type { Server } from 'node:http';
import { Input, Markup, Telegraf, TelegramError } from 'telegraf';
import type { Config } from '../../config/schema.ts';
import { type Logger, redactSecrets, registerSecret } from '../../core/log.ts';
import { isFinal, type Reply } from '../../core/reply.ts';
import type { BotCore, ChatAdapter, CommandSpec, ReplyTarget } from '../types.ts';
import { boundedCall, callWithRetries } from './api-call.ts';
import { isEditTargetGone, isNotModified, retryDelayMs } from './api-errors.ts';
import { ChatOutbound } from './outbound.ts';
import { UpdatePoller } from './polling.ts';
import { escapeHtml, mentionHtml, renderTelegram, type TelegramMessage } from './render.ts';
import { messageToRequest, type TgMessage, topicOf } from './to-request.ts';
import { closeWebhook, listenWebhook, type WebhookSettings, webhookUrl } from './webhook.ts';

export interface TelegramAdapterOptions {
  config: Config;
  logger: Logger;
  /** Pacing between sends to one chat (Telegram asks for about 1/s); tests set 0. */
  minIntervalMs?: number;
  /** Messages per minute in a group; Telegram's limit is about 20. */
  groupPerMinute?: number;
  sleep?: (ms: number) => Promise<void>;
}

type TopicOptions = { message_thread_id?: number };

/** The forum topic of the message a target answers, kept in its state (JSON: it outlives this process). */
function topicState(message: TgMessage): { topic?: number } {
  const topic = topicOf(message);
  return topic === undefined ? {} : { topic };
}

/** What every send for the target carries: without it Telegram posts in the forum's General topic. */
function topicOptions(target: ReplyTarget): TopicOptions {
  const topic = target.state['topic'];
  return typeof topic === 'number' ? { message_thread_id: topic } : {};
}

/** Telegram bot commands: 1-32 of a-z 0-9 _, descriptions 1-256. */
export function toBotCommands(specs: readonly CommandSpec[]): { command: string; description: string }[] {
  return specs
    .filter((s) => /^[a-z0-9_]{1,32}$/.test(s.name))
    .map((s) => ({ command: s.name, description: `${s.description}`.slice(0, 256) }))
    .slice(0, 100);
}

/**
 * The Telegram adapter on telegraf: long polling (or a webhook with a secret token), HTML replies edited in
 * place, image attachments as photos (sendPhoto), documents for other files and for what does not fit, a
 * per-chat outbound queue that honours 429 retry_after and retries what is safe to retry (see api-errors.ts).
 * Update handlers return at once: the next poll waits for a whole batch of updates to be handled.
 */
export class TelegramAdapter implements ChatAdapter {
  readonly platform = 'telegram' as const;
  private readonly bot: Telegraf;
  private readonly outbound: ChatOutbound;
  private readonly poller: UpdatePoller;
  /** The start or run in progress: stop() aborts it, so nothing it was about to begin begins. */
  private session: AbortController | null = null;
  /** Webhook mode: the webhook server, from start() until stop(). */
  private webhook: Server | null = null;
  /** Webhook mode: the server listens and Telegram has its address (setWebhook answered), until stop(). */
  private webhookSet = false;
  /** A stop in progress: a start waits for it (the lease may come back while the adapter is still stopping). */
  private stopping: Promise<void> = Promise.resolve();
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
      retryDelayMs: (error, attempt, edit) => retryDelayMs(error, attempt, edit),
      ...(options.sleep ? { sleep: options.sleep } : {}),
    });
    this.poller = new UpdatePoller({
      telegram: this.bot.telegram,
      handleUpdate: (update) => this.bot.handleUpdate(update),
      logger: options.logger,
    });
  }

  /**
   * Resolves once updates flow: polling has begun (getMe and deleteWebhook answered, the first getUpdates sent), or
   * the webhook is registered. Those calls are retried on a 429 or a transient failure, a bounded number of times;
   * rejects when they keep failing, or when stop() comes first. Once polling has begun it goes on until stop(),
   * through any failure (see UpdatePoller).
   */
  async start(core: BotCore): Promise<void> {
    const { logger, config } = this.options;
    await this.stopping;
    const installed = this.core !== null;
    this.core = core;
    if (!installed) this.install();
    this.session?.abort();
    const session = new AbortController();
    this.session = session;
    const { signal } = session;
    const { telegram } = this.bot;
    try {
      // Always asked (telegraf would skip it once it knows the bot): it proves the token and the API before the start counts.
      this.bot.botInfo = await callWithRetries('getMe', (o) => telegram.callApi('getMe', {}, o), signal, logger);
      // The menu is a convenience: a server that refuses it must not keep the bot from starting.
      const commands = toBotCommands(core.commandSpecs());
      await boundedCall('setMyCommands', (o) => telegram.callApi('setMyCommands', { commands }, o), signal, 15_000).catch(
        (error: unknown) => logger.warn({ err: redactSecrets(String(error)) }, 'setMyCommands failed'),
      );
      const webhook = config.telegram?.mode === 'webhook' ? config.telegram.webhook : undefined;
      if (webhook) await this.openWebhook(webhook, signal);
      else await callWithRetries('deleteWebhook', (o) => telegram.callApi('deleteWebhook', {}, o), signal, logger);
      if (signal.aborted) throw new Error('telegram stopped while starting');
      if (webhook) this.webhookSet = true;
      else this.poller.begin();
    } catch (error) {
      // Left half-open by this start only: after a stop() the session is gone and stop() closes the server.
      if (this.session === session) {
        this.session = null;
        await this.shutWebhook();
      }
      throw new Error(redactSecrets(String(error)));
    }
  }

  /** The webhook server, then its address at Telegram (Telegram starts posting as soon as it has it). */
  private async openWebhook(webhook: WebhookSettings, signal: AbortSignal): Promise<void> {
    const handler = this.bot.webhookCallback(webhook.path, { secretToken: webhook.secretToken });
    this.webhook = await listenWebhook(handler, webhook, this.options.logger, signal);
    // allowed_updates always said, as getUpdates does: omitted, Telegram keeps the last filter anyone set, which may
    // leave out button clicks (approvals).
    const settings = { url: webhookUrl(webhook), secret_token: webhook.secretToken, allowed_updates: [] };
    await callWithRetries('setWebhook', (o) => this.bot.telegram.callApi('setWebhook', settings, o), signal, this.options.logger);
  }

  private async shutWebhook(): Promise<void> {
    this.webhookSet = false;
    const server = this.webhook;
    this.webhook = null;
    if (server) await closeWebhook(server);
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
        state: { replyTo: message.message_id, ...topicState(message) },
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
        state: { messageId: q.message.message_id, clicked: true, ...topicState(q.message as unknown as TgMessage) },
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

  /** Polling: polls are succeeding (see UpdatePoller.healthy). Webhook: its server listens and Telegram has its address. */
  connected(): boolean {
    return this.webhookSet || this.poller.healthy();
  }

  /** Polling stops first (a bot losing the leader lease must stop receiving at once), then the outbound queue drains. */
  async stop(): Promise<void> {
    this.session?.abort();
    this.session = null;
    const stopping = (async () => {
      await this.shutWebhook();
      await this.poller.end();
      await this.outbound.idle();
    })();
    this.stopping = stopping.catch(() => {});
    await stopping;
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
    const replyTo = typeof target.state['replyTo'] === 'number' ? target.state['replyTo'] : undefined;
    let next = target;
    if (messageId === null) next = await this.sendNew(target, message, keyboard, replyTo);
    else if (target.state['clicked'] === true && reply.private === true) {
      // A private answer to a button click (a denial, "expired"…) goes to the clicker as a reply to the message that
      // holds the button, which stays as it is: editing it would show one person's refusal to everyone in the chat.
      await this.sendNew(target, message, keyboard, messageId);
    } else if (await this.edit(chatId, messageId, message.html, keyboard, isFinal(reply))) {
      next = await this.ping(target, reply, message.mentions, messageId);
    } else {
      // Deleted meanwhile (someone tidying the chat), or no longer editable: the reply must still arrive, and later
      // updates go to the new message.
      this.options.logger.info({ chatId, messageId }, 'the message to edit is gone; posting the reply as a new message');
      const { messageId: _gone, mentioned: _before, ...state } = target.state;
      next = await this.sendNew({ ...target, state }, message, keyboard, replyTo);
    }
    if (isFinal(reply)) {
      const topic = topicOptions(target);
      for (const photo of message.photos) await this.sendPhoto(chatId, photo, topic);
      for (const doc of message.documents) {
        await this.outbound.send(chatId, () => this.bot.telegram.sendDocument(chatId, Input.fromBuffer(doc.data, doc.name), topic));
      }
    }
    return next;
  }

  /**
   * A new message (in the target's forum topic, as a reply to `replyTo` when given); returns the target that edits it.
   * Not retried after a failure that may have posted it (see retryDelayMs).
   */
  private async sendNew(
    target: ReplyTarget,
    message: TelegramMessage,
    keyboard: ReturnType<typeof Markup.inlineKeyboard> | undefined,
    replyTo: number | undefined,
  ): Promise<ReplyTarget> {
    const chatId = target.channelId;
    const sent = await this.outbound.send(chatId, () =>
      this.bot.telegram.sendMessage(chatId, message.html, {
        parse_mode: 'HTML',
        ...topicOptions(target),
        ...(replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
        ...(keyboard ? keyboard : {}),
      } as Parameters<Telegraf['telegram']['sendMessage']>[2]),
    );
    // A new message notifies the users it mentions.
    const mentioned = message.mentions.map((m) => m.userId);
    return { ...target, state: { ...target.state, messageId: sent.message_id, ...(mentioned.length ? { mentioned } : {}) } };
  }

  /**
   * Edits the message; false when it is gone. An edit is retried after a transient failure (running it twice changes
   * nothing), and one that finds the message as asked is taken as done: an earlier try that Telegram applied.
   */
  private async edit(
    chatId: string,
    messageId: number,
    html: string,
    keyboard: ReturnType<typeof Markup.inlineKeyboard> | undefined,
    final: boolean,
  ): Promise<boolean> {
    try {
      await this.outbound.send(
        chatId,
        () =>
          this.bot.telegram.editMessageText(chatId, messageId, undefined, html, {
            parse_mode: 'HTML',
            // Always said: a reply without actions (a settled approval) takes the inline keyboard away.
            ...(keyboard ? keyboard : { reply_markup: { inline_keyboard: [] } }),
          }),
        // progress edits of one message coalesce; a final reply gets its own slot so it is never replaced
        final ? { edit: true } : { coalesceKey: `edit:${messageId}`, edit: true },
      );
      return true;
    } catch (error) {
      if (isNotModified(error)) return true;
      if (isEditTargetGone(error)) return false;
      throw error;
    }
  }

  /**
   * An image as a photo (multipart upload), its description as the caption. A photo Telegram refuses (too large,
   * odd dimensions) goes as a document instead, so the file still arrives.
   */
  private async sendPhoto(chatId: string, photo: TelegramMessage['photos'][number], topic: TopicOptions): Promise<void> {
    const options = { ...topic, ...(photo.caption ? { caption: photo.caption } : {}) };
    try {
      await this.outbound.send(chatId, () => this.bot.telegram.sendPhoto(chatId, Input.fromBuffer(photo.data, photo.name), options));
    } catch (error) {
      if (!(error instanceof TelegramError) || error.code !== 400) throw error;
      this.options.logger.warn({ err: redactSecrets(String(error)) }, 'photo refused; sending it as a document');
      await this.outbound.send(chatId, () => this.bot.telegram.sendDocument(chatId, Input.fromBuffer(photo.data, photo.name), options));
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
          ...topicOptions(target),
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
