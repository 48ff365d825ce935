import type { Server } from 'node:http';
import { Input, Markup, Telegraf, TelegramError } from 'telegraf';
import type { Config } from '../../config/schema.ts';
import { channelPolicy } from '../../core/authorize.ts';
import { type Logger, redactSecrets, registerSecret } from '../../core/log.ts';
import { isFinal, type Reply, reply as replies } from '../../core/reply.ts';
import { ClassifiedDeliveries } from '../delivery-failure.ts';
import { markMaybeDelivered } from '../maybe-delivered.ts';
import type { BotCore, ChatAdapter, CommandSpec, ReplyTarget } from '../types.ts';
import { boundedCall, callWithRetries } from './api-call.ts';
import {
  isChatGone,
  isDefinitiveRefusal,
  isEditTargetGone,
  isNotModified,
  isTokenRefused,
  isTransient,
  migratedTo,
  neverReachedTelegram,
  retryDelayMs,
} from './api-errors.ts';
import { MovedChats } from './moved-chats.ts';
import { ChatOutbound } from './outbound.ts';
import { UpdatePoller } from './polling.ts';
import {
  alertText,
  cutAlertText,
  escapeHtml,
  mentionHtml,
  renderTelegram,
  TELEGRAM_TEXT_LIMIT,
  type TelegramMessage,
  visibleLength,
} from './render.ts';
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
  /**
   * How long a click in a group is left unanswered for its answer to come (see answerClicker) before the clicker's
   * spinner is stopped with an empty answer. Telegram takes an answer only for a short while after the click.
   */
  callbackHoldMs?: number;
  /** How soon a listed basic group whose getChat failed for a passing reason may be asked about again (askAboutGroups). */
  groupAskAgainMs?: number;
}

/** Telegram's clients spin until a click is answered, and Telegram refuses answers after some seconds. */
const CALLBACK_HOLD_MS = 10_000;
/** A listed group whose upgrade could not be asked about (see askAboutGroups) is asked again after this. */
const GROUP_ASK_AGAIN_MS = 60_000;
/** An answer to a click is one small call: it must not hold up a reply, nor a stop, for long. */
const CALLBACK_ANSWER_LIMIT_MS = 5_000;

type Keyboard = ReturnType<typeof Markup.inlineKeyboard>;

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

/**
 * A new message's failed send, marked when Telegram may have posted it all the same (a 5xx, a connection lost
 * mid-request: see retryDelayMs) — in the group, the asker's or clicker's private chat alike: sent again, it would show
 * twice.
 */
function newMessageFailure(error: unknown): unknown {
  return isTransient(error) && !neverReachedTelegram(error) ? markMaybeDelivered(error) : error;
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
 * A private answer to a button click in a group never goes to the group (see answerClicker).
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
  /** Clicks in groups not answered yet, by callback query id, each with the timer that stops its spinner. */
  private readonly openCallbacks = new Map<string, NodeJS.Timeout>();
  /** Groups Telegram said were upgraded to a supergroup (see toChat, chatIdNow). */
  private readonly moved: MovedChats;
  /** Asking Telegram about the config's basic groups (see askAboutGroups), while it is under way. */
  private asking: Promise<void> | null = null;
  /** Each delivery's failure classified for the relay (see DeliveryFailure); a refused bot token said once. */
  private readonly classifier: ClassifiedDeliveries;

  constructor(private readonly options: TelegramAdapterOptions) {
    const token = options.config.telegram?.token ?? process.env['TELEGRAM_BOT_TOKEN'];
    if (!token) throw new Error('Telegram needs a token: telegram.token in the config or TELEGRAM_BOT_TOKEN');
    registerSecret(token);
    this.moved = new MovedChats(() => options.config.channels);
    this.classifier = new ClassifiedDeliveries({
      platform: 'telegram',
      isTokenRefused,
      refusesReply: isDefinitiveRefusal,
      logger: options.logger,
      message:
        'Telegram refuses the bot token (401 Unauthorized: revoked or replaced?); replies wait until the bot runs with a valid token',
    });
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
    // A group may have been upgraded while this bot was stopped, its announcement taken by another bot.
    this.moved.forgetAsks();
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
      this.noteUpgrade(message);
      const req = messageToRequest(message, ctx.botInfo.username);
      if (!req) return;
      // In a group, who asked (a person, not a chat posting as itself): replies go to their private chat with the bot
      // if the group can no longer be reached (see answerAsker).
      const from = message.sender_chat === undefined && message.from && !message.from.is_bot ? message.from : undefined;
      const title = 'title' in message.chat && typeof message.chat.title === 'string' ? message.chat.title : 'a group';
      const asker = from && message.chat.type !== 'private' ? { asker: from.id, chatTitle: title, command: req.command } : {};
      const handle = (chatId: string) => {
        const target: ReplyTarget = {
          platform: 'telegram',
          channelId: chatId,
          requestId: req.id,
          state: { replyTo: message.message_id, ...topicState(message), ...asker },
        };
        return core().handle({ ...req, channel: { ...req.channel, id: chatId } }, target);
      };
      // Not awaited: the job may take minutes and would hold up every other chat's updates.
      const known = this.chatIdNow(message.chat);
      if (known !== null) void handle(known);
      else void this.chatIdAsked(String(message.chat.id)).then(handle);
    });
    this.bot.on('edited_message', (ctx) => this.answerEdit(ctx.editedMessage as unknown as TgMessage, ctx.botInfo.username));
    this.bot.on('callback_query', (ctx) => {
      const q = ctx.callbackQuery;
      if (!('data' in q) || !q.message) {
        void this.answerCallback(q.id);
        return;
      }
      const { message, data } = q;
      const chat = message.chat;
      // In a group the answer may be for the clicker alone, and the click's own answer (an alert) is the one thing
      // Telegram shows one member of a group: it is kept open for that (see answerClicker). A private chat is the
      // clicker's own: the answer goes there.
      if (chat.type === 'private') void this.answerCallback(q.id);
      else this.holdCallback(q.id);
      const title = 'title' in chat && typeof chat.title === 'string' ? { chatTitle: chat.title } : {};
      const click = (chatId: string): void => {
        const target: ReplyTarget = {
          platform: 'telegram',
          channelId: chatId,
          requestId: `tgcb${q.id}`,
          // The answer edits the message holding the button, except a private one (see deliver); who clicked, for that.
          state: {
            messageId: message.message_id,
            clicked: true,
            callback: q.id,
            clicker: q.from.id,
            clickerName: q.from.first_name,
            ...title,
            ...topicState(message as unknown as TgMessage),
          },
        };
        void core().handleAction(
          {
            id: `tgcb${q.id}`,
            actionId: data,
            platform: 'telegram',
            actor: { platform: 'telegram', userId: String(q.from.id), roleIds: [], displayName: q.from.username ?? q.from.first_name },
            channel: { id: chatId, kind: chat.type === 'private' ? 'direct' : 'group' },
            receivedAt: Date.now(),
          },
          target,
        );
      };
      // The chat as the core knows it (a group upgraded since the button was posted, or while no bot was told: see
      // MovedChats), asking Telegram first as for a message (see chatIdNow).
      const known = this.chatIdNow(chat as TgMessage['chat']);
      if (known !== null) click(known);
      else void this.chatIdAsked(String(chat.id)).then(click);
    });
  }

  /**
   * An edited command is not run: its first version may be running or done already (a "/stop web" edited to "/stop
   * mail" would stop both), and what was sent is what runs. Its sender, who may have fixed a typo in place, is told so
   * in a reply — where xenops is let in (elsewhere a reply would be noise in a chat that never uses it).
   */
  private answerEdit(message: TgMessage, botUsername: string): void {
    const req = messageToRequest(message, botUsername);
    if (!req) return;
    const chatId = this.moved.knownAs(String(message.chat.id));
    if (!channelPolicy(this.options.config, 'telegram', { ...req.channel, id: chatId }).allowed) return;
    const args = req.args.kind === 'text' && req.args.text ? ` ${req.args.text}` : '';
    const typed = redactSecrets(`/${req.command}${args}`); // before it is cut short: a cut secret is not recognised
    const chars = [...typed];
    const shown = chars.length > 200 ? `${chars.slice(0, 199).join('')}…` : typed;
    const target: ReplyTarget = {
      platform: 'telegram',
      channelId: chatId,
      requestId: `${req.id}_edit`,
      state: { replyTo: message.message_id, ...topicState(message) },
    };
    const note = replies.error(
      'Edited command not run',
      `xenops runs a command as it was sent, never an edit of it: send ${shown} as a new message`,
    );
    void this.deliver(target, note).catch((error: unknown) =>
      this.options.logger.warn({ err: redactSecrets(String(error)) }, 'the note on an edited command could not be sent'),
    );
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
      // Their answers, if they still come, go to the clickers' private chats: the spinners stop now.
      const open = [...this.openCallbacks.keys()].filter((id) => this.takeCallback(id));
      await Promise.all(open.map((id) => this.answerCallback(id)));
      await this.outbound.idle();
    })();
    this.stopping = stopping.catch(() => {});
    await stopping;
  }

  async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    return await this.classifier.deliver(() => this.deliverReply(target, reply));
  }

  private async deliverReply(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    const chatId = target.channelId;
    const message = renderTelegram(reply);
    const keyboard = reply.actions?.length
      ? Markup.inlineKeyboard(
          reply.actions.filter((a) => Buffer.byteLength(a.id) <= 64).map((a) => Markup.button.callback(a.label.slice(0, 64), a.id)),
        )
      : undefined;
    const clicked = target.state['clicked'] === true;
    // Negative chat ids are groups, supergroups and channels: everyone there would read a reply.
    if (clicked && reply.private === true && chatId.startsWith('-')) return await this.answerClicker(target, reply, message, keyboard);
    const asker = typeof target.state['asker'] === 'number' ? target.state['asker'] : null;
    if (target.privately === true && asker !== null) return await this.answerAsker(target, asker, reply, message, keyboard);
    try {
      return await this.deliverToChat(target, reply, message, keyboard);
    } catch (error) {
      // The bot was removed from the group, or the group deleted: the reply goes to the asker's private chat with the
      // bot rather than to nobody, and every later delivery for the target follows it there.
      if (asker === null || !isChatGone(error)) throw error;
      this.options.logger.warn(
        { err: redactSecrets(String(error)), requestId: target.requestId },
        "the request's chat cannot be reached; answering the asker in their private chat",
      );
      return await this.answerAsker(target, asker, reply, message, keyboard);
    }
  }

  /**
   * A reply that the asker's group cannot take, in their private chat with the bot (its message there edited by later
   * replies), saying which command in which chat it answers. Throws when Telegram refuses that too.
   */
  private async answerAsker(
    target: ReplyTarget,
    asker: number,
    reply: Reply,
    message: TelegramMessage,
    keyboard: Keyboard | undefined,
  ): Promise<ReplyTarget> {
    const command = typeof target.state['command'] === 'string' ? `/${target.state['command']}` : 'command';
    const sent = await this.sendToClicker(target, asker, reply, message, keyboard, command);
    return { ...target, privately: true, state: { ...target.state, privateMessageId: sent } };
  }

  /** The reply in the target's own chat: its message edited, or a new one. */
  private async deliverToChat(
    target: ReplyTarget,
    reply: Reply,
    message: TelegramMessage,
    keyboard: Keyboard | undefined,
  ): Promise<ReplyTarget> {
    const chatId = target.channelId;
    const clicked = target.state['clicked'] === true;
    const callback = typeof target.state['callback'] === 'string' ? target.state['callback'] : null;
    // An answer for everyone to a click in a group: the card shows it, the clicker's spinner just stops.
    if (callback !== null && this.takeCallback(callback)) void this.answerCallback(callback);
    const messageId = typeof target.state['messageId'] === 'number' ? target.state['messageId'] : null;
    const replyTo = typeof target.state['replyTo'] === 'number' ? target.state['replyTo'] : undefined;
    let next = target;
    if (messageId === null) next = await this.sendNew(target, message, keyboard, replyTo);
    else if (clicked && reply.private === true) {
      // A private answer to a click in the clicker's own private chat (a denial, "expired"…): a reply to the message
      // holding the button, which stays as it is — it may be the approval card the chat shows.
      await this.sendNew(target, message, keyboard, messageId);
    } else if (await this.edit(chatId, messageId, message.html, keyboard, isFinal(reply))) {
      // The message shows the reply: a failed ping must not have it sent again.
      next = await this.ping(target, reply, message.mentions, messageId).catch((e: unknown) => Promise.reject(markMaybeDelivered(e)));
    } else {
      // Deleted meanwhile (someone tidying the chat), or no longer editable: the reply must still arrive, and later
      // updates go to the new message.
      this.options.logger.info({ chatId, messageId }, 'the message to edit is gone; posting the reply as a new message');
      const { messageId: _gone, mentioned: _before, ...state } = target.state;
      next = await this.sendNew({ ...target, state }, message, keyboard, replyTo);
    }
    // The message is out: files that fail after it must not have it posted again (a new message would be twice).
    if (isFinal(reply))
      await this.sendFiles(chatId, message, topicOptions(target)).catch((e: unknown) => Promise.reject(markMaybeDelivered(e)));
    return next;
  }

  /**
   * One call to a chat, through its outbound queue. A basic group upgraded to a supergroup has a new id, and Telegram
   * refuses every call to the old one (400 with migrate_to_chat_id): the call goes to the new id — refused, the first
   * posted nothing — and so does every later call for the old one (replies pending since, schedules set up with it).
   */
  private async toChat<T>(
    chatId: string,
    call: (to: string) => Promise<T>,
    options?: { coalesceKey?: string; edit?: boolean },
  ): Promise<T> {
    const to = this.moved.sendTo(chatId);
    try {
      return await this.outbound.send(to, () => call(to), options);
    } catch (error) {
      const moved = migratedTo(error);
      if (moved === null || moved === to) throw error;
      this.learnUpgrade(to, moved);
      this.moved.record(chatId, moved);
      return await this.outbound.send(moved, () => call(moved), options);
    }
  }

  /** The service messages Telegram posts in both chats when a basic group is upgraded to a supergroup. */
  private noteUpgrade(message: TgMessage): void {
    const chat = message.chat.id;
    if (typeof message.migrate_to_chat_id === 'number') this.learnUpgrade(String(chat), String(message.migrate_to_chat_id));
    if (typeof message.migrate_from_chat_id === 'number') this.learnUpgrade(String(message.migrate_from_chat_id), String(chat));
  }

  /**
   * Records an upgrade Telegram told of, once. When the config's channels name the group and not the supergroup, the
   * supergroup is let in as the group (see MovedChats) and the operator is told the id to write in the config: until
   * they do, a bot that missed the announcement must ask Telegram (askAboutGroups) before it knows.
   */
  private learnUpgrade(oldId: string, newId: string): void {
    if (!this.moved.record(oldId, newId)) return;
    const { logger } = this.options;
    if (this.moved.named(oldId) && !this.moved.named(newId))
      logger.warn(
        { chatId: oldId, movedTo: newId },
        `telegram group ${oldId} was upgraded to supergroup ${newId}: the config's channels entry for the group lets the ` +
          `supergroup in; update the config: channels: { platform: telegram, id: "${newId}" }`,
      );
    else logger.info({ chatId: oldId, movedTo: newId }, `telegram group ${oldId} was upgraded to supergroup ${newId}; sending there`);
  }

  /**
   * The id the core knows a chat a message came from by (see MovedChats), or null when Telegram must be asked first
   * (see chatIdAsked): a supergroup the config's channels do not name may be a listed group upgraded while no bot was
   * there to be told, and the config's basic groups were not asked about yet this start.
   */
  private chatIdNow(chat: TgMessage['chat']): string | null {
    const id = String(chat.id);
    const known = this.moved.knownAs(id);
    if (chat.type !== 'supergroup' || known !== id || this.moved.named(id)) return known;
    return this.asking === null && this.moved.groupsToAsk(Date.now()).length === 0 ? known : null;
  }

  /** The id the core knows a chat by, once Telegram was asked about the config's basic groups due (see groupsToAsk). Never rejects. */
  private async chatIdAsked(id: string): Promise<string> {
    this.asking ??= this.askAboutGroups().finally(() => {
      this.asking = null;
    });
    await this.asking;
    return this.moved.knownAs(id);
  }

  /**
   * Asks Telegram about each basic group the config's channels name: one upgraded answers 400 with
   * migrate_to_chat_id (see learnUpgrade). Any other answer (still a group, gone) is final until the next start; a
   * failure that tells nothing (5xx, 429, no answer) is asked again, at most once a minute. Never rejects.
   */
  private async askAboutGroups(): Promise<void> {
    const signal = new AbortController().signal;
    await Promise.all(
      this.moved.groupsToAsk(Date.now()).map(async (chatId) => {
        try {
          await boundedCall('getChat', (o) => this.bot.telegram.callApi('getChat', { chat_id: chatId }, o), signal, 5_000);
          this.moved.askAnswered(chatId);
        } catch (error) {
          const moved = migratedTo(error);
          if (moved !== null) return this.learnUpgrade(chatId, moved);
          this.options.logger.debug({ err: redactSecrets(String(error)), chatId }, 'telegram getChat failed');
          if (isDefinitiveRefusal(error)) return this.moved.askAnswered(chatId);
          this.moved.askFailed(chatId, Date.now() + (this.options.groupAskAgainMs ?? GROUP_ASK_AGAIN_MS));
        }
      }),
    );
  }

  /** A final reply's photos and documents, after its message. */
  private async sendFiles(chatId: string, message: TelegramMessage, topic: TopicOptions): Promise<void> {
    for (const photo of message.photos) await this.sendPhoto(chatId, photo, topic);
    for (const doc of message.documents) {
      await this.toChat(chatId, (to) => this.bot.telegram.sendDocument(to, Input.fromBuffer(doc.data, doc.name), topic));
    }
  }

  /** Leaves a click in a group open for its answer, until the hold runs out: then only the spinner is stopped. */
  private holdCallback(id: string): void {
    const timer = setTimeout(() => {
      if (this.takeCallback(id)) void this.answerCallback(id);
    }, this.options.callbackHoldMs ?? CALLBACK_HOLD_MS);
    timer.unref();
    this.openCallbacks.set(id, timer);
  }

  /** Whether the click is still open here; if so, the caller answers it (a query takes one answer). */
  private takeCallback(id: string): boolean {
    const timer = this.openCallbacks.get(id);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.openCallbacks.delete(id);
    return true;
  }

  /** Answers a click: `text` as a toast, or as an alert to dismiss; false when Telegram did not take it (too late). */
  private async answerCallback(id: string, text?: string, alert = false): Promise<boolean> {
    try {
      const answer = { callback_query_id: id, ...(text ? { text, show_alert: alert } : {}) };
      await boundedCall(
        'answerCallbackQuery',
        (o) => this.bot.telegram.callApi('answerCallbackQuery', answer, o),
        new AbortController().signal,
        CALLBACK_ANSWER_LIMIT_MS,
      );
      return true;
    } catch (error) {
      this.options.logger.info({ err: redactSecrets(String(error)), callback: id }, 'a button click could not be answered');
      return false;
    }
  }

  /**
   * A private answer to a click in a group, where Telegram shows no message to one member only: the clicker's alert
   * when the answer fits in one and the click is still open; else their private chat with the bot (a toast says so);
   * else an alert with what fits. Only when none of these reaches them does the group get a note — mentioning them,
   * never carrying the answer. The message holding the button (an approval card) is never touched. Throws only when
   * not even the note could be sent.
   */
  private async answerClicker(
    target: ReplyTarget,
    reply: Reply,
    message: TelegramMessage,
    keyboard: Keyboard | undefined,
  ): Promise<ReplyTarget> {
    const s = target.state;
    const callback = typeof s['callback'] === 'string' && this.takeCallback(s['callback']) ? s['callback'] : null;
    const bot = `@${this.bot.botInfo?.username ?? 'the bot'}`;
    const whole = alertText(reply);
    let open = callback;
    if (open !== null && whole !== null) {
      if (await this.answerCallback(open, whole, true)) return target;
      open = null;
    }
    const clicker = typeof s['clicker'] === 'number' ? s['clicker'] : null;
    if (clicker !== null) {
      try {
        const sent = await this.sendToClicker(target, clicker, reply, message, keyboard);
        if (open !== null) await this.answerCallback(open, `The answer is in your private chat with ${bot}.`);
        return { ...target, state: { ...s, privateMessageId: sent } };
      } catch (error) {
        this.options.logger.warn(
          { err: redactSecrets(String(error)), requestId: target.requestId },
          "a private answer to a button click could not go to the clicker's private chat",
        );
      }
    }
    const cut = `\n(cut: xenops can send you the whole answer once you open ${bot} and press Start)`;
    if (open !== null && (await this.answerCallback(open, cutAlertText(reply, cut), true))) return target;
    // One note per click: a later update of the same answer has nothing new to tell the group.
    if (s['noted'] === true) return target;
    await this.noteInGroup(target, clicker, bot);
    return { ...target, state: { ...s, noted: true } };
  }

  /**
   * The answer in the clicker's private chat with the bot (the message sent there for this click before is edited),
   * saying which chat's click it answers; its files follow. Returns the message's id. Throws when Telegram refuses it
   * (403: they never started the bot, or blocked it).
   */
  private async sendToClicker(
    target: ReplyTarget,
    clicker: number,
    reply: Reply,
    message: TelegramMessage,
    keyboard: Keyboard | undefined,
    what = 'button click',
  ): Promise<number> {
    const chatId = String(clicker);
    const title = typeof target.state['chatTitle'] === 'string' ? target.state['chatTitle'] : 'a group';
    const where = `\n<i>Your ${escapeHtml(what)} in ${escapeHtml(title)}</i>`;
    const html = visibleLength(`${message.html}${where}`) <= TELEGRAM_TEXT_LIMIT ? `${message.html}${where}` : message.html;
    const before = typeof target.state['privateMessageId'] === 'number' ? target.state['privateMessageId'] : null;
    let id = before;
    if (before === null || !(await this.edit(chatId, before, html, keyboard, isFinal(reply)))) {
      const sent = await this.toChat(chatId, (to) =>
        this.bot.telegram.sendMessage(to, html, { parse_mode: 'HTML', ...(keyboard ? keyboard : {}) }),
      ).catch((e: unknown) => Promise.reject(newMessageFailure(e)));
      id = sent.message_id;
    }
    // No topic: the private chat is not the group's forum. Files that fail after the message must not have it sent again.
    if (isFinal(reply)) await this.sendFiles(chatId, message, {}).catch((e: unknown) => Promise.reject(markMaybeDelivered(e)));
    return id ?? 0;
  }

  /**
   * What the group is told when a private answer reached its clicker nowhere: that there is one, for whom, and how to
   * get such answers — never the answer. A reply to the clicked message, in its topic; the mention notifies them.
   */
  private async noteInGroup(target: ReplyTarget, clicker: number | null, bot: string): Promise<void> {
    const chatId = target.channelId;
    const name = typeof target.state['clickerName'] === 'string' ? target.state['clickerName'] : 'you';
    const start = `To get such answers, open a private chat with ${escapeHtml(bot)} and press Start.`;
    const html =
      clicker === null
        ? // A click kept from before the clicker was recorded: nobody to mention.
          `🔒 The answer to a button click here is for the one who clicked alone, and xenops could not send it privately, so it is not shown here. ${start}`
        : `🔒 <a href="tg://user?id=${clicker}">${escapeHtml(name)}</a>: the answer to your button click is for you alone, and ` +
          `xenops could not send it to you privately, so it is not shown here. ${start}`;
    const messageId = typeof target.state['messageId'] === 'number' ? target.state['messageId'] : undefined;
    await this.toChat(chatId, (to) =>
      this.bot.telegram.sendMessage(to, html, {
        parse_mode: 'HTML',
        ...topicOptions(target),
        ...(messageId ? { reply_parameters: { message_id: messageId, allow_sending_without_reply: true } } : {}),
      }),
    ).catch((e: unknown) => Promise.reject(newMessageFailure(e)));
  }

  /**
   * A new message (in the target's forum topic, as a reply to `replyTo` when given); returns the target that edits it.
   * Not retried after a failure that may have posted it (see retryDelayMs).
   */
  private async sendNew(
    target: ReplyTarget,
    message: TelegramMessage,
    keyboard: Keyboard | undefined,
    replyTo: number | undefined,
  ): Promise<ReplyTarget> {
    const chatId = target.channelId;
    const sent = await this.toChat(chatId, (to) =>
      this.bot.telegram.sendMessage(to, message.html, {
        parse_mode: 'HTML',
        ...topicOptions(target),
        ...(replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
        ...(keyboard ? keyboard : {}),
      } as Parameters<Telegraf['telegram']['sendMessage']>[2]),
    ).catch((e: unknown) => Promise.reject(newMessageFailure(e)));
    // A new message notifies the users it mentions.
    const mentioned = message.mentions.map((m) => m.userId);
    return { ...target, state: { ...target.state, messageId: sent.message_id, ...(mentioned.length ? { mentioned } : {}) } };
  }

  /**
   * Edits the message; false when it is gone. An edit is retried after a transient failure (running it twice changes
   * nothing), and one that finds the message as asked is taken as done: an earlier try that Telegram applied.
   */
  private async edit(chatId: string, messageId: number, html: string, keyboard: Keyboard | undefined, final: boolean): Promise<boolean> {
    try {
      await this.toChat(
        chatId,
        (to) =>
          this.bot.telegram.editMessageText(to, messageId, undefined, html, {
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
      await this.toChat(chatId, (to) => this.bot.telegram.sendPhoto(to, Input.fromBuffer(photo.data, photo.name), options));
    } catch (error) {
      if (!(error instanceof TelegramError) || error.code !== 400) throw error;
      this.options.logger.warn({ err: redactSecrets(String(error)) }, 'photo refused; sending it as a document');
      await this.toChat(chatId, (to) => this.bot.telegram.sendDocument(to, Input.fromBuffer(photo.data, photo.name), options));
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
      await this.toChat(chatId, (to) =>
        this.bot.telegram.sendMessage(to, `${mentionHtml(users)} ${escapeHtml(reply.title)}`, {
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
    await this.toChat(target.channelId, (to) => this.bot.telegram.pinChatMessage(to, messageId, { disable_notification: true }), {
      edit: true,
    });
  }

  async post(channelId: string, reply: Reply): Promise<ReplyTarget> {
    return this.deliver({ platform: 'telegram', channelId, requestId: `post-${Date.now()}`, state: {} }, reply);
  }
}
