import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CallRecorder, PNG_HEAD, parseMultipart, readBody, type UploadedFile } from '../recorder.ts';

/** One recorded Bot API call: method, fields (JSON or multipart), uploaded files with their bytes. */
export interface TgCall {
  method: string;
  body: Record<string, unknown>;
  /** Uploaded files by form field (`photo`, `document`): name, content type, size, first bytes, bytes. */
  files: Record<string, UploadedFile>;
  at: number;
  /** message_id of the message a successful send or edit produced. */
  messageId?: number;
  /** Which client called, when its API root names one (`${apiRoot}/NAME/`): several bots on one fake. */
  client?: string;
  /**
   * The error status it was answered with by a fault switch (rateLimitNext, failNext), or as Telegram refuses it (a
   * callback answer too long, too late or given before; a private chat closePrivateChat closed); the call was not applied.
   */
  failedWith?: number;
}

/** How failNext answers: a status ≥ 500 as Telegram's nginx front does (an HTML page), below as the Bot API does (JSON). */
export interface TgFailure {
  status: number;
  /** The Bot API's description (status < 500), e.g. "Conflict: terminated by other getUpdates request". */
  description?: string;
  /**
   * Carried out all the same, only its answer replaced by the failure: Telegram's front answering 502 after the API
   * behind it posted the message. Recorded as carried out (no failedWith).
   */
  applied?: boolean;
}

/** One getUpdates call, by client (see TgCall.client). */
export interface TgPoll {
  client: string | undefined;
  offset: number;
  /** Long-poll seconds asked for (0: answered at once). */
  timeout: number;
  at: number;
}

/** An inline keyboard as the Bot API takes it. */
export interface TgKeyboard {
  inline_keyboard: { text: string; callback_data?: string }[][];
}

/** A message as the fake keeps it: what the chat shows now, edits applied. */
export interface TgMessage {
  chatId: number;
  messageId: number;
  text: string;
  /** The inline keyboard it shows now; an edit that sends none takes it away, as Telegram does. */
  keyboard: TgKeyboard | null;
  edits: number;
}

const ENTITY_TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'code',
  'pre',
  'a',
  'tg-spoiler',
  'span',
  'blockquote',
  'tg-emoji',
]);

/**
 * A local server speaking the Telegram Bot API over HTTP, enough for telegraf: long-polled getUpdates fed by
 * injected updates, messages with ids, edits, documents and photos (multipart), callback answers. It validates what
 * Telegram validates where bad output would hide (text length after entities, HTML well-formedness) and can
 * answer 429 with retry_after.
 */
export class FakeTelegram {
  private readonly recorder = new CallRecorder<TgCall>();
  readonly calls = this.recorder.calls;
  /** Every message sent (sendMessage), in order; awaitable. */
  private readonly sent = new CallRecorder<TgMessage>();
  private server: Server | null = null;
  private updates: unknown[] = [];
  private nextUpdateId = 1;
  private nextMessageId = 1000;
  private polls: { res: ServerResponse; timer: NodeJS.Timeout; offset: number; client: string | undefined }[] = [];
  private readonly pollRecorder = new CallRecorder<TgPoll>();
  /** Every getUpdates call, in order. */
  readonly pollCalls = this.pollRecorder.calls;
  /**
   * Long polls that overlapped another client's (Telegram answers the older one 409 Conflict): a getUpdates from one
   * named client while one from another named client was still waiting.
   */
  readonly pollOverlaps: { at: number; client: string; waiting: string }[] = [];
  private failures = new Map<string, { count: number; retryAfter: number }>();
  private holds: ((c: TgCall) => boolean)[] = [];
  private faults: { match: (c: TgCall) => boolean; failure: TgFailure }[] = [];
  private readonly heldRecorder = new CallRecorder<TgCall>();
  /** Calls taken and never answered (holdNext). */
  readonly held = this.heldRecorder.calls;
  private nextCallbackId = 1;
  /** Messages the bot sent, by `chat:message`, as they look now. */
  readonly messages = new Map<string, TgMessage>();
  /** `chatId:messageId` of the messages pinned through pinChatMessage. */
  readonly pins = new Set<string>();
  /** Every answerCallbackQuery Telegram took, in order: what the clicker was shown (a toast, or an alert with show_alert). */
  readonly callbackAnswers: { id: string; text: string; showAlert: boolean; at: number }[] = [];
  /** Callback queries issued (callback, press) and not answered yet; those expireCallback made too old are left out. */
  private openCallbacks = new Set<string>();
  /** User id → why the bot may not message them in their private chat (see closePrivateChat). */
  private closedPrivateChats = new Map<number, string>();
  /** Groups the bot was removed from (see removeBot). */
  private leftChats = new Set<number>();
  /** Basic group id → the supergroup it was upgraded to (see migrateChat). */
  private migratedChats = new Map<number, number>();
  /** Users notified by a text mention (`<a href="tg://user?id=N">`): only a new message notifies, never an edit. */
  readonly notifications: { userId: number; chatId: number; messageId: number; at: number }[] = [];
  /**
   * The update types the bot gets, as Telegram keeps them: set by the last setWebhook or getUpdates that names
   * allowed_updates, and kept by one that does not. Empty: Telegram's default (all but chat_member and reactions).
   */
  allowedUpdates: string[] = [];
  port = 0;

  constructor(
    readonly token: string,
    readonly botUser = { id: 42, is_bot: true, first_name: 'xenops', username: 'xenops_bot' },
  ) {}

  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** An API root that names its client in every call (TgCall.client, TgPoll.client), e.g. one per bot process. */
  apiRootFor(client: string): string {
    return `${this.apiRoot}/${client}/`;
  }

  /** Whether Telegram would hand the bot an update of this type now (see allowedUpdates). */
  delivers(type: string): boolean {
    if (this.allowedUpdates.length > 0) return this.allowedUpdates.includes(type);
    return !['chat_member', 'message_reaction', 'message_reaction_count'].includes(type);
  }

  /** Resolves with the first getUpdates call (past or future) that matches. */
  waitForPoll(match: (p: TgPoll) => boolean): Promise<TgPoll> {
    return this.pollRecorder.waitFor(match);
  }

  /** Listens on `port` (0: any free one); after stop(), start(fake.port) brings the same API back. */
  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  async stop(): Promise<void> {
    for (const p of this.polls) {
      clearTimeout(p.timer);
      p.res.end(JSON.stringify({ ok: true, result: [] }));
    }
    this.polls = [];
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * The next call that matches is taken and never answered, nor applied (it is in `held`, not in `calls`): a platform
   * that has the request when the bot sending it dies.
   */
  holdNext(match: (c: TgCall) => boolean): void {
    this.holds.push(match);
  }

  /** Resolves with the first held call (past or future) that matches. */
  waitForHeld(match: (c: TgCall) => boolean): Promise<TgCall> {
    return this.heldRecorder.waitFor(match);
  }

  /** The next call that matches is answered with `failure` instead of being applied (a 502 from Telegram's front, a 409…). */
  failNext(match: (c: TgCall) => boolean, failure: TgFailure = { status: 502 }): void {
    this.faults.push({ match, failure });
  }

  /** The next `count` calls of `method` answer 429 with retry_after. */
  rateLimitNext(method: string, count: number, retryAfter: number): void {
    this.failures.set(method, { count, retryAfter });
  }

  /**
   * The bot may not message `userId` in their private chat: a sendMessage, sendPhoto or sendDocument to it answers 403,
   * as Telegram does for someone who never started the bot (or blocked it).
   */
  closePrivateChat(userId: number, how: 'never-started' | 'blocked' = 'never-started'): void {
    this.closedPrivateChats.set(
      userId,
      how === 'blocked' ? 'Forbidden: bot was blocked by the user' : "Forbidden: bot can't initiate conversation with a user",
    );
  }

  /**
   * The basic group `from` was upgraded to the supergroup `to` (a member turned on topics, history for new members…):
   * as Telegram does, every send, edit, pin or getChat to `from` is refused 400 with parameters.migrate_to_chat_id.
   * `announced`: the bot also gets the two service messages Telegram sends then (`migrate_to_chat_id` in the group,
   * `migrate_from_chat_id` in the supergroup); without, the bot was not there to get them (down for over a day).
   * Returns the update id of the last update pushed (0 when none).
   */
  migrateChat(from: number, to: number, options: { announced?: boolean; by?: number; title?: string } = {}): number {
    this.migratedChats.set(from, to);
    if (!options.announced) return 0;
    const title = options.title ?? 'ops';
    const by = options.by ?? 1001;
    const date = Math.floor(Date.now() / 1000);
    const member = { id: by, is_bot: false, first_name: `user${by}` };
    this.push({
      update_id: this.nextUpdateId++,
      message: { message_id: this.nextMessageId++, date, chat: { id: from, type: 'group', title }, from: member, migrate_to_chat_id: to },
    });
    // Sent "by" the group itself in the supergroup (Telegram's anonymous sender), as the first message there.
    this.push({
      update_id: this.nextUpdateId++,
      message: {
        message_id: 1,
        date,
        chat: { id: to, type: 'supergroup', title },
        from: { id: 1087968824, is_bot: true, first_name: 'Group', username: 'GroupAnonymousBot' },
        sender_chat: { id: from, type: 'group', title },
        migrate_from_chat_id: from,
      },
    });
    return this.nextUpdateId - 1;
  }

  /**
   * The bot was removed from group `chatId` (kicked, or the group deleted): as Telegram does, every send, edit or pin
   * there is refused 403.
   */
  removeBot(chatId: number): void {
    this.leftChats.add(chatId);
  }

  /** What the bot sent `userId` in their private chat, as it looks now. */
  privateMessages(userId: number): TgMessage[] {
    return [...this.messages.values()].filter((m) => m.chatId === userId);
  }

  /** The callback query is too old now (the client waited too long): answering it is refused, as Telegram does. */
  expireCallback(id: string): void {
    this.openCallbacks.delete(id);
  }

  /** Injects a text message as a user would send it; returns its message id. */
  sendText(
    from: number,
    chat: { id: number; type: 'private' | 'group' | 'supergroup'; title?: string },
    text: string,
    options: {
      anonymousAdmin?: boolean;
      /** Sent on behalf of this channel (a member who owns it picked it as their identity in the group). */
      asChannel?: { id: number; title: string };
      topic?: number;
      sentAt?: number;
      forwardedFrom?: number;
      /** The sender edits their message `edits` to `text`: Telegram sends it as an edited_message update. */
      edits?: number;
    } = {},
  ): number {
    const messageId = options.edits ?? this.nextMessageId++;
    // In a forum supergroup, a message in a topic other than General names it (Bot API Message.message_thread_id).
    const topic = options.topic === undefined ? {} : { message_thread_id: options.topic, is_topic_message: true };
    const command = /^\/[^\s]+/.exec(text);
    const message: Record<string, unknown> = {
      message_id: messageId,
      date: Math.floor((options.sentAt ?? Date.now()) / 1000),
      chat:
        chat.type === 'private'
          ? { id: chat.id, type: 'private', first_name: 'user' }
          : { id: chat.id, type: chat.type, title: chat.title ?? 'ops', ...(options.topic === undefined ? {} : { is_forum: true }) },
      ...topic,
      // Telegram's placeholder senders: one user for every anonymous admin, one for every message sent as a channel.
      from: options.anonymousAdmin
        ? { id: 1087968824, is_bot: true, first_name: 'Group', username: 'GroupAnonymousBot' }
        : options.asChannel
          ? { id: 136817688, is_bot: true, first_name: 'Channel', username: 'Channel_Bot' }
          : { id: from, is_bot: false, first_name: `user${from}` },
      text,
      ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}),
      ...(options.anonymousAdmin ? { sender_chat: { id: chat.id, type: chat.type, title: chat.title ?? 'ops' } } : {}),
      ...(options.asChannel ? { sender_chat: { id: options.asChannel.id, type: 'channel', title: options.asChannel.title } } : {}),
      // Forwarded by `from`: the text and its entities (a bot_command too) are the original sender's.
      ...(options.forwardedFrom === undefined
        ? {}
        : {
            forward_origin: {
              type: 'user',
              date: Math.floor(Date.now() / 1000) - 3600,
              sender_user: { id: options.forwardedFrom, is_bot: false, first_name: `user${options.forwardedFrom}` },
            },
          }),
    };
    if (options.edits !== undefined) message['edit_date'] = Math.floor(Date.now() / 1000);
    this.push({ update_id: this.nextUpdateId++, [options.edits === undefined ? 'message' : 'edited_message']: message });
    return messageId;
  }

  /** Someone (an admin tidying the chat) deletes a message: later edits of it answer "message to edit not found". */
  deleteMessage(chatId: number, messageId: number): void {
    this.messages.delete(`${chatId}:${messageId}`);
  }

  /** The message `messageId` of chat `chatId` as it looks now. */
  message(chatId: number, messageId: number): TgMessage | undefined {
    return this.messages.get(`${chatId}:${messageId}`);
  }

  /**
   * A user presses the inline button labelled `label` under message `messageId`, as it shows now: throws when there
   * is no such button (a real client cannot press a button that is gone). Returns the callback query id.
   */
  press(
    from: number,
    chat: { id: number; type: 'private' | 'group' | 'supergroup'; title?: string },
    messageId: number,
    label: string,
    options: { topic?: number } = {},
  ): string {
    const button = this.message(chat.id, messageId)
      ?.keyboard?.inline_keyboard.flat()
      .find((b) => b.text === label);
    if (!button?.callback_data) throw new Error(`fake telegram: message ${messageId} shows no button "${label}"`);
    return this.callback(from, chat, messageId, button.callback_data, options);
  }

  /**
   * Injects a callback query with `data` as if pressed under `messageId` (also a stale button), in forum topic
   * `options.topic` when given. Returns its id; it is open (answerable once) until answered or expireCallback.
   */
  callback(
    from: number,
    chat: { id: number; type: 'private' | 'group' | 'supergroup'; title?: string },
    messageId: number,
    data: string,
    options: { topic?: number } = {},
  ): string {
    const id = `cbq${this.nextCallbackId++}`;
    this.openCallbacks.add(id);
    const shown = this.message(chat.id, messageId);
    const topic = options.topic === undefined ? {} : { message_thread_id: options.topic, is_topic_message: true };
    this.push({
      update_id: this.nextUpdateId++,
      callback_query: {
        id,
        from: { id: from, is_bot: false, first_name: `user${from}` },
        message: {
          message_id: messageId,
          date: Math.floor(Date.now() / 1000),
          chat:
            chat.type === 'private'
              ? { id: chat.id, type: 'private', first_name: 'user' }
              : { id: chat.id, type: chat.type, title: chat.title ?? 'ops', ...(options.topic === undefined ? {} : { is_forum: true }) },
          ...topic,
          from: this.botUser,
          text: shown?.text.replace(/<[^>]+>/g, '') ?? '',
          ...(shown?.keyboard ? { reply_markup: shown.keyboard } : {}),
        },
        chat_instance: String(chat.id),
        data,
      },
    });
    return id;
  }

  /** Resolves with the first recorded call (past or future) that matches. */
  /** The n-th (1-based) sent message matching, past or future. */
  waitForMessage(match: (m: TgMessage) => boolean, n = 1): Promise<TgMessage> {
    let seen = 0;
    return this.sent.waitFor((m) => match(m) && ++seen === n);
  }

  waitFor(match: (c: TgCall) => boolean): Promise<TgCall> {
    return this.recorder.waitFor(match);
  }

  private push(update: unknown): void {
    this.updates.push(update);
    const polls = this.polls;
    this.polls = [];
    for (const p of polls) {
      clearTimeout(p.timer);
      this.answerPoll(p.res, p.offset);
    }
  }

  private answerPoll(res: ServerResponse, offset: number): void {
    this.updates = this.updates.filter((u) => (u as { update_id: number }).update_id >= offset);
    json(res, { ok: true, result: this.updates });
  }

  private record(call: TgCall): void {
    this.recorder.record(call);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = /^(?:\/([A-Za-z0-9_-]+))?\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? '');
    if (!m || m[2] !== this.token) return json(res, { ok: false, error_code: 404, description: 'Not Found' }, 404);
    const client = m[1];
    const method = m[3] as string;
    const raw = await readBody(req);
    const { body, files } = await parseBody(req, raw);
    const call: TgCall = { method, body, files, at: Date.now(), ...(client === undefined ? {} : { client }) };
    const hold = this.holds.findIndex((match) => match(call));
    if (hold >= 0) {
      this.holds.splice(hold, 1);
      this.heldRecorder.record(call);
      return;
    }
    const fault = this.faults.findIndex((f) => f.match(call));
    const applied = fault >= 0 && this.faults[fault]?.failure.applied === true;
    if (applied) {
      const failure = this.faults.splice(fault, 1)[0]?.failure ?? { status: 502 };
      // Carried out below as usual; whatever it answers is replaced by the front's failure page.
      const writeHead = res.writeHead.bind(res);
      const end = res.end.bind(res);
      res.writeHead = (() => res) as unknown as typeof res.writeHead;
      res.end = (() => {
        writeHead(failure.status, { 'content-type': 'text/html' });
        return end(`<html><head><title>${failure.status}</title></head><body><center><h1>${failure.status}</h1></center></body></html>`);
      }) as unknown as typeof res.end;
    } else if (fault >= 0) {
      const failure = this.faults.splice(fault, 1)[0]?.failure ?? { status: 502 };
      this.record({ ...call, failedWith: failure.status });
      if (failure.status >= 500) {
        res.writeHead(failure.status, { 'content-type': 'text/html' });
        res.end(`<html><head><title>${failure.status}</title></head><body><center><h1>${failure.status}</h1></center></body></html>`);
        return;
      }
      return json(res, { ok: false, error_code: failure.status, description: failure.description ?? 'Bad Request' }, failure.status);
    }
    const failure = this.failures.get(method);
    if (failure && failure.count > 0) {
      failure.count--;
      this.record({ ...call, failedWith: 429 });
      return json(
        res,
        {
          ok: false,
          error_code: 429,
          description: `Too Many Requests: retry after ${failure.retryAfter}`,
          parameters: { retry_after: failure.retryAfter },
        },
        429,
      );
    }
    if (!['getUpdates', 'sendMessage', 'editMessageText', 'answerCallbackQuery'].includes(method)) this.record(call);
    const chat = (id: unknown) => ({ id: Number(id), type: Number(id) < 0 ? 'supergroup' : 'private' });
    const movedTo = ['sendMessage', 'editMessageText', 'sendPhoto', 'sendDocument', 'pinChatMessage', 'getChat'].includes(method)
      ? this.migratedChats.get(Number(body['chat_id']))
      : undefined;
    if (movedTo !== undefined) {
      if (method === 'sendMessage' || method === 'editMessageText') this.record({ ...call, failedWith: 400 });
      const description = 'Bad Request: group chat was upgraded to a supergroup chat';
      return json(res, { ok: false, error_code: 400, description, parameters: { migrate_to_chat_id: movedTo } }, 400);
    }
    const left = ['sendMessage', 'editMessageText', 'sendPhoto', 'sendDocument', 'pinChatMessage'].includes(method)
      ? this.leftChats.has(Number(body['chat_id']))
      : false;
    const closed = left
      ? 'Forbidden: bot was kicked from the supergroup chat'
      : ['sendMessage', 'sendPhoto', 'sendDocument'].includes(method)
        ? this.closedPrivateChats.get(Number(body['chat_id']))
        : undefined;
    if (closed) {
      if (method === 'sendMessage' || (left && method === 'editMessageText')) this.record({ ...call, failedWith: 403 });
      return json(res, { ok: false, error_code: 403, description: closed }, 403);
    }
    if ((method === 'setWebhook' || method === 'getUpdates') && Array.isArray(body['allowed_updates']))
      this.allowedUpdates = body['allowed_updates'].map(String);
    switch (method) {
      case 'getMe':
        return json(res, { ok: true, result: this.botUser });
      case 'getChat': {
        const id = Number(body['chat_id']);
        return json(res, { ok: true, result: id < 0 ? { id, type: id <= -1e12 ? 'supergroup' : 'group', title: 'ops' } : chat(id) });
      }
      case 'pinChatMessage': {
        const key = `${Number(body['chat_id'])}:${Number(body['message_id'])}`;
        if (!this.messages.has(key))
          return json(res, { ok: false, error_code: 400, description: 'Bad Request: message to pin not found' }, 400);
        this.pins.add(key);
        return json(res, { ok: true, result: true });
      }
      case 'deleteWebhook':
      case 'setWebhook':
      case 'setMyCommands':
        return json(res, { ok: true, result: true });
      case 'answerCallbackQuery': {
        const id = String(body['callback_query_id'] ?? '');
        const text = String(body['text'] ?? '');
        // Telegram: 0-200 characters; a query answers once, and only for a short while after the click.
        const refused = text.length > 200 || !this.openCallbacks.has(id);
        this.record({ ...call, ...(refused ? { failedWith: 400 } : {}) });
        if (text.length > 200) return json(res, { ok: false, error_code: 400, description: 'Bad Request: MESSAGE_TOO_LONG' }, 400);
        if (!this.openCallbacks.delete(id))
          return json(
            res,
            {
              ok: false,
              error_code: 400,
              description: 'Bad Request: query is too old and response timeout expired or query ID is invalid',
            },
            400,
          );
        this.callbackAnswers.push({ id, text, showAlert: body['show_alert'] === true || body['show_alert'] === 'true', at: call.at });
        return json(res, { ok: true, result: true });
      }
      case 'getUpdates': {
        const offset = Number(body['offset'] ?? 0);
        const timeout = Number(body['timeout'] ?? 0);
        this.pollRecorder.record({ client, offset, timeout, at: call.at });
        const other = this.polls.find((p) => p.client !== undefined && client !== undefined && p.client !== client);
        if (other) this.pollOverlaps.push({ at: call.at, client: client as string, waiting: other.client as string });
        // As Telegram does: a getUpdates with an offset confirms every update before it, also while it waits.
        this.updates = this.updates.filter((u) => (u as { update_id: number }).update_id >= offset);
        if (this.updates.length > 0) return this.answerPoll(res, offset);
        const timeoutMs = Math.min(timeout, 50) * 1000;
        const timer = setTimeout(() => {
          this.polls = this.polls.filter((p) => p.res !== res);
          json(res, { ok: true, result: [] });
        }, timeoutMs);
        this.polls.push({ res, timer, offset, client });
        // A client that goes away (stopped polling, or died) no longer waits.
        res.on('close', () => {
          clearTimeout(timer);
          this.polls = this.polls.filter((p) => p.res !== res);
        });
        return;
      }
      case 'sendMessage':
      case 'editMessageText': {
        const problem = checkText(String(body['text'] ?? ''), body['parse_mode']);
        if (problem) {
          this.record(call);
          return json(res, { ok: false, error_code: 400, description: `Bad Request: ${problem}` }, 400);
        }
        const id = method === 'sendMessage' ? this.nextMessageId++ : Number(body['message_id']);
        const chatId = Number(body['chat_id']);
        const keyboard = keyboardOf(body['reply_markup']);
        if (method === 'sendMessage') {
          const sent: TgMessage = { chatId, messageId: id, text: String(body['text']), keyboard, edits: 0 };
          this.messages.set(`${chatId}:${id}`, sent);
          this.sent.record(sent);
          for (const m of String(body['text']).matchAll(/<a href="tg:\/\/user\?id=(\d+)">/g))
            this.notifications.push({ userId: Number(m[1]), chatId, messageId: id, at: Date.now() });
        } else {
          const shown = this.messages.get(`${chatId}:${id}`);
          if (!shown) {
            this.record(call);
            return json(res, { ok: false, error_code: 400, description: 'Bad Request: message to edit not found' }, 400);
          }
          if (shown.text === String(body['text']) && JSON.stringify(shown.keyboard) === JSON.stringify(keyboard)) {
            this.record(call);
            return json(
              res,
              {
                ok: false,
                error_code: 400,
                description:
                  'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
              },
              400,
            );
          }
          // Telegram: an edit without reply_markup (or with an empty keyboard) leaves the message with no keyboard.
          shown.text = String(body['text']);
          shown.keyboard = keyboard;
          shown.edits++;
        }
        this.record({ ...call, messageId: id });
        return json(res, {
          ok: true,
          result: { message_id: id, date: Math.floor(Date.now() / 1000), chat: chat(body['chat_id']), text: body['text'] },
        });
      }
      case 'sendPhoto': {
        const photo = files['photo'];
        if (!photo) return json(res, { ok: false, error_code: 400, description: 'Bad Request: there is no photo in the request' }, 400);
        if (String(body['caption'] ?? '').length > 1024)
          return json(res, { ok: false, error_code: 400, description: 'Bad Request: message caption is too long' }, 400);
        // Telegram decodes the image: bytes that are neither PNG nor JPEG are refused.
        if (!photo.head.startsWith(PNG_HEAD) && !photo.head.startsWith('ffd8ff'))
          return json(res, { ok: false, error_code: 400, description: 'Bad Request: IMAGE_PROCESS_FAILED' }, 400);
        return json(res, {
          ok: true,
          result: {
            message_id: this.nextMessageId++,
            date: 0,
            chat: chat(body['chat_id']),
            photo: [{ file_id: `photo${this.nextMessageId}`, file_unique_id: `p${this.nextMessageId}`, width: 1, height: 1 }],
            ...(body['caption'] ? { caption: body['caption'] } : {}),
          },
        });
      }
      case 'sendDocument': {
        if (!files['document'])
          return json(res, { ok: false, error_code: 400, description: 'Bad Request: there is no document in the request' }, 400);
        if (String(body['caption'] ?? '').length > 1024)
          return json(res, { ok: false, error_code: 400, description: 'Bad Request: message caption is too long' }, 400);
        return json(res, {
          ok: true,
          result: {
            message_id: this.nextMessageId++,
            date: 0,
            chat: chat(body['chat_id']),
            document: { file_name: files['document'].name },
          },
        });
      }
      default:
        return json(res, { ok: false, error_code: 404, description: `Not Found: method ${method}` }, 404);
    }
  }
}

/** What Telegram checks: 1-4096 characters after entity parsing, and (HTML) only known, balanced tags. */
function checkText(text: string, parseMode: unknown): string | null {
  const visible = parseMode === 'HTML' ? text.replace(/<[^>]+>/g, '').replace(/&(lt|gt|amp|quot);/g, 'x') : text;
  if (visible.length === 0) return 'message text is empty';
  if (visible.length > 4096) return 'message is too long';
  if (parseMode !== 'HTML') return null;
  const stack: string[] = [];
  for (const tag of text.matchAll(/<(\/?)([a-z-]+)[^>]*>/g)) {
    const [, closing, name = ''] = tag;
    if (!ENTITY_TAGS.has(name)) return `can't parse entities: unsupported start tag "${name}"`;
    if (closing) {
      if (stack.pop() !== name) return `can't parse entities: unexpected end tag "${name}"`;
    } else stack.push(name);
  }
  if (stack.length > 0) return `can't parse entities: unclosed tag "${stack.at(-1)}"`;
  if (/&(?!(lt|gt|amp|quot);)/.test(text) || /<(?![a-z/])/.test(text)) return "can't parse entities: unescaped character";
  return null;
}

/** reply_markup as sent (an object in JSON bodies, a JSON string in multipart), or null for none / an empty keyboard. */
function keyboardOf(raw: unknown): TgKeyboard | null {
  const markup = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Partial<TgKeyboard> | undefined;
  const rows = (markup?.inline_keyboard ?? []).filter((r) => r.length > 0);
  return rows.length ? { inline_keyboard: rows } : null;
}

function json(res: ServerResponse, payload: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(payload));
}

async function parseBody(req: IncomingMessage, raw: Buffer): Promise<{ body: Record<string, unknown>; files: TgCall['files'] }> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('multipart/form-data')) {
    const { fields, files } = await parseMultipart(type, raw);
    return { body: fields, files: Object.fromEntries(files.map(({ field, ...f }) => [field, f])) };
  }
  if (raw.length === 0) return { body: {}, files: {} };
  return { body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, files: {} };
}
