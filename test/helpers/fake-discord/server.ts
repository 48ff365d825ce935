import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { CallRecorder, parseMultipart, readBody, type UploadedFile } from '../recorder.ts';

export interface DcCall {
  method: string;
  route: string;
  body: Record<string, unknown> | null;
  /** Uploaded files in form order (`files[0]`, `files[1]`…): name, content type, size, first bytes, bytes. */
  files: UploadedFile[];
  at: number;
  /** Answered by a fault (see failNext) with this status, or its connection cut ('drop'). */
  failedWith?: number | 'drop';
}

/**
 * How failNext answers a call: a status (a 5xx as Discord's edge does, an HTML page; a 4xx as the API does, JSON
 * with `code`; a 429 with `retry_after` and the Retry-After header Discord sends), or `drop`: the connection is cut
 * without an answer. `applied`: Discord did what the call asked before its answer was lost (a message created).
 */
export interface DcFault {
  status?: number;
  code?: number;
  message?: string;
  /** For a 429: seconds, as Discord's body and Retry-After header give them. */
  retryAfter?: number;
  global?: boolean;
  drop?: boolean;
  applied?: boolean;
}

/** A file a message holds now, as Discord lists it (`id` is a snowflake once uploaded). */
export interface DcAttachment {
  id: string;
  filename: string;
  size: number;
  contentType: string;
  head: string;
  description?: string;
  data: Buffer;
}

/** A message as the fake keeps it: what a user would see now (content, embeds, buttons), edits applied. */
export interface DcMessage {
  id: string;
  channelId: string;
  content: string;
  embeds: unknown[];
  components: { type: number; components: { type: number; label?: string; custom_id?: string; style?: number }[] }[];
  flags: number;
  /** The files it holds now: an edit keeps only those its `attachments` list names, plus its new uploads. */
  attachments: DcAttachment[];
  /** How many edits it has had. */
  edits: number;
}

/** One gateway connection: when it opened, identified (READY sent) and closed, as the server saw them. */
export interface DcSession {
  n: number;
  openedAt: number;
  /** The bot's identify came. */
  identifyAt?: number;
  /** READY sent. */
  identifiedAt?: number;
  closedAt?: number;
}

/** A user notified by a message: only a newly created message notifies, and only whom its content mentions and allows. */
export interface DcNotification {
  userId: string;
  messageId: string;
  at: number;
}

let snowflake = 1_300_000_000_000_000_000n;
const nextId = () => String(++snowflake);

/**
 * A local Discord: the v10 HTTP routes the bot uses and a gateway WebSocket (HELLO, IDENTIFY → READY,
 * heartbeats), so the real discord.js client logs in, registers commands and receives interactions that tests
 * inject. Every HTTP call is recorded with its JSON body and uploaded files.
 */
export class FakeDiscord {
  private readonly recorder = new CallRecorder<DcCall>();
  readonly calls = this.recorder.calls;
  readonly appId = '100000000000000042';
  readonly botUser = { id: '100000000000000042', username: 'xenops', discriminator: '0', global_name: null, avatar: null, bot: true };
  readonly guildId = '400000000000000001';
  readonly channelId = '300000000000000001';
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  private socket: WebSocket | null = null;
  private seq = 0;
  private commands = new Map<string, unknown[]>();
  /** Messages by id, as they look now. */
  readonly messages = new Map<string, DcMessage>();
  /** Ids of the messages pinned through PUT /channels/:id/pins/:message. */
  readonly pins = new Set<string>();
  /** Who was notified (pinged) by which message. */
  readonly notifications: DcNotification[] = [];
  /** Interaction token → the message its `@original` is: the deferred reply, or the message holding a clicked button. */
  private originals = new Map<string, string>();
  /** Interaction token → the message a component interaction was clicked on (its @original once deferred). */
  private clickedOn = new Map<string, string>();
  /** Tokens of the interactions answered (Discord takes one initial response: a second gets 40060). */
  private answered = new Set<string>();
  /** Interaction token → the channel it came from: its deferred reply and follow-ups are posted there. */
  private channelOf = new Map<string, string>();
  /** Interaction tokens past their 15 minutes (see expireToken). */
  private expired = new Set<string>();
  /** INTERACTION_CREATE payloads sent, by interaction id, for redeliver(). */
  private sent = new Map<string, Record<string, unknown>>();
  /** Set: the next interaction callback is taken, but its answer is lost on the way back (see loseNextCallbackAnswer). */
  private loseAnswer = false;
  /** Every gateway connection so far, in order (a bot that logs in again, or another bot, opens a new one). */
  readonly sessions: DcSession[] = [];
  /** Identifies that came while another identified session was still open (two bots on the gateway at once). */
  readonly overlaps: string[] = [];
  /** User id → the bot's direct-message channel with them (opened through POST /users/@me/channels). */
  private dmChannels = new Map<string, string>();
  /** Users who take no direct messages from the bot (server privacy setting): posting to their DM answers 50007. */
  private closedDms = new Set<string>();
  /** Channels deleted (see deleteChannel): every call about them answers 404 Unknown Channel (10003). */
  private deletedChannels = new Set<string>();
  /** Channel id + nonce → the message created with it (a create with `enforce_nonce` and a known nonce returns it). */
  private nonces = new Map<string, string>();
  /** Faults for the next matching calls, in order (see failNext). */
  private faults: { match: (c: DcCall) => boolean; fault: DcFault }[] = [];
  /** Calls to answer only once released, in order (see holdNext). */
  private holds: { match: (c: DcCall) => boolean; released: Promise<void>; release: () => void }[] = [];
  /** Set: an identify is never answered with READY (a gateway that takes the connection and never lets the bot in). */
  withholdReady = false;
  /** Guilds whose commands the bot may not read or set (it was removed from them): 403 Missing Access (50001). */
  readonly missingAccess = new Set<string>();
  /**
   * Guilds the bot is in, announced by GUILD_CREATE after READY (only those added before the bot logs in; none by
   * default), with their role ids, and their members' role ids as GET /guilds/:id/members/:user gives them.
   */
  readonly guilds = new Map<string, { roles: string[]; members: Map<string, string[]> }>();
  /** Guilds whose member lookups fail (Discord answers 500 Internal Server Error, on every retry too). */
  readonly failingMemberLookups = new Set<string>();
  private identified: Promise<void>;
  private markIdentified!: () => void;
  port = 0;

  constructor(readonly token: string) {
    this.identified = new Promise((r) => {
      this.markIdentified = r;
    });
  }

  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => this.wss?.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws)));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  async stop(): Promise<void> {
    for (const h of this.holds.splice(0)) h.release();
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.wss?.close();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  ready(): Promise<void> {
    return this.identified;
  }

  waitFor(match: (c: DcCall) => boolean): Promise<DcCall> {
    return this.recorder.waitFor(match);
  }

  /**
   * Sends INTERACTION_CREATE as Discord would; returns the interaction id and token. `where`: from another guild
   * (`guildId`, `channelId`), or from the user's direct messages with the bot (`dm`: no guild, no member, no roles).
   */
  interact(
    userId: string,
    data: Record<string, unknown>,
    type: 2 | 3 | 4 = 2,
    roles: string[] = [],
    onMessage?: string,
    where: { guildId?: string; channelId?: string; dm?: boolean } = {},
  ): { id: string; token: string } {
    const id = nextId();
    const token = `itoken-${id}`;
    const held = onMessage === undefined ? undefined : this.messages.get(onMessage);
    if (onMessage !== undefined && !held) throw new Error(`fake discord: no message ${onMessage}`);
    if (held) this.clickedOn.set(token, held.id);
    const user = { id: userId, username: `user${userId.slice(-1)}`, discriminator: '0', global_name: null, avatar: null };
    const dm = where.dm === true ? this.dmChannelOf(userId) : undefined;
    const guildId = where.guildId ?? this.guildId;
    // A click comes from the channel of the message clicked (an approvals channel is not the command's channel).
    const channelId = held?.channelId ?? dm ?? where.channelId ?? this.channelId;
    this.channelOf.set(token, channelId);
    const payload = {
      id,
      application_id: this.appId,
      type,
      token,
      version: 1,
      channel_id: channelId,
      ...(dm === undefined
        ? {
            guild_id: guildId,
            channel: { id: channelId, type: 0, name: 'ops', guild_id: guildId },
            member: { user, roles, permissions: '0', joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0 },
          }
        : // A direct message carries the user alone: Discord sends no member (and so no roles) outside a guild.
          { channel: { id: channelId, type: 1, recipients: [user] }, user }),
      data,
      // Component clicks carry the message the component sits on.
      ...(type === 3
        ? {
            message: {
              id: held?.id ?? nextId(),
              type: 0,
              channel_id: held?.channelId ?? this.channelId,
              content: held?.content ?? '',
              embeds: held?.embeds ?? [],
              components: held?.components ?? [],
              attachments: [],
              author: this.botUser,
              timestamp: new Date().toISOString(),
              edited_timestamp: null,
              tts: false,
              mention_everyone: false,
              mentions: [],
              mention_roles: [],
              pinned: false,
              flags: 0,
            },
          }
        : {}),
      locale: 'en-US',
      guild_locale: 'en-US',
      app_permissions: '0',
      entitlements: [],
      authorizing_integration_owners: dm === undefined ? { '0': guildId } : { '1': userId },
      context: dm === undefined ? 0 : 1,
      attachment_size_limit: 10_485_760,
    };
    this.sent.set(id, payload);
    this.dispatch('INTERACTION_CREATE', payload);
    return { id, token };
  }

  /**
   * The interaction's token is past its 15 minutes, as Discord sees it: its webhook (edits of @original, follow-ups)
   * answers 401 Invalid Webhook Token, whatever the bot's own clock says.
   */
  expireToken(token: string): void {
    this.expired.add(token);
  }

  /**
   * The user takes no direct messages from the bot (Discord's "allow direct messages from server members" off): the
   * DM channel still opens, but a message posted to it is refused 403 Cannot send messages to this user (50007).
   */
  closeDirectMessages(userId: string): void {
    this.closedDms.add(userId);
  }

  /**
   * Someone deletes a channel (or the bot loses access to it): its messages go, and every later call about it — a post,
   * an edit, an interaction's webhook there — answers 404 Unknown Channel (10003).
   */
  deleteChannel(channelId: string): void {
    this.deletedChannels.add(channelId);
    for (const [id, m] of this.messages) if (m.channelId === channelId) this.messages.delete(id);
  }

  /** The bot's direct-message channel with `userId` (the one POST /users/@me/channels opens), made on first use. */
  private dmChannelOf(userId: string): string {
    const id = this.dmChannels.get(userId) ?? nextId();
    this.dmChannels.set(userId, id);
    return id;
  }

  /** The messages the bot sent `userId` in a direct message, as they look now. */
  directMessages(userId: string): DcMessage[] {
    const dm = this.dmChannels.get(userId);
    return dm === undefined ? [] : [...this.messages.values()].filter((m) => m.channelId === dm);
  }

  /** Sends an interaction's INTERACTION_CREATE again, as the gateway replays events a resumed session missed. */
  redeliver(id: string): void {
    const payload = this.sent.get(id);
    if (!payload) throw new Error(`fake discord: no interaction ${id}`);
    this.dispatch('INTERACTION_CREATE', payload);
  }

  /**
   * Discord's edge loses the answer to the next interaction callback: the callback is taken ("thinking…" shows,
   * @original exists) but the bot gets a 502, and a retry is refused 40060 as for any second response.
   */
  loseNextCallbackAnswer(): void {
    this.loseAnswer = true;
  }

  /**
   * The next call matching `match` gets `fault` instead of its answer (see DcFault); each call takes the first fault
   * that matches it, once. Calls refused for a bad bot token (401) are not recorded, and take no fault.
   */
  failNext(match: (c: DcCall) => boolean, fault: DcFault = { status: 502 }): void {
    this.faults.push({ match, fault });
  }

  /**
   * Discord is slow to answer the next call matching `match`: it is recorded as it arrives, and answered (faults
   * applied as usual) only once the function returned is called. Other calls are answered meanwhile.
   */
  holdNext(match: (c: DcCall) => boolean): () => void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.holds.push({ match, released, release });
    return release;
  }

  /**
   * A user clicks the button labelled `label` on message `messageId`, as shown now: throws when the message has no
   * such button (a real client cannot click a button that is gone; use interact() to replay a stale click).
   */
  click(userId: string, messageId: string, label: string, roles: string[] = []): { id: string; token: string } {
    const message = this.messages.get(messageId);
    const button = message?.components.flatMap((row) => row.components).find((b) => b.label === label);
    if (!button?.custom_id) throw new Error(`fake discord: message ${messageId} shows no button "${label}"`);
    return this.interact(userId, { custom_id: button.custom_id, component_type: 2 }, 3, roles, messageId);
  }

  /**
   * The file a message's embed shows as its image now (`embeds[0].image.url` = `attachment://<filename>` of one of
   * its attachments), or null: no image, or one naming no file the message holds (Discord would show nothing).
   */
  embedImage(messageId: string): DcAttachment | null {
    const m = this.messages.get(messageId);
    const url = (m?.embeds[0] as { image?: { url?: string } } | undefined)?.image?.url ?? '';
    if (!m || !url.startsWith('attachment://')) return null;
    return m.attachments.find((a) => a.filename === url.slice('attachment://'.length)) ?? null;
  }

  /** The buttons a message shows now. */
  buttons(messageId: string): { label: string; customId: string }[] {
    return (this.messages.get(messageId)?.components ?? [])
      .flatMap((row) => row.components)
      .map((b) => ({ label: b.label ?? '', customId: b.custom_id ?? '' }));
  }

  private dispatch(t: string, d: unknown): void {
    this.socket?.send(JSON.stringify({ op: 0, t, s: ++this.seq, d }));
  }

  private onSocket(ws: WebSocket): void {
    this.socket = ws;
    const session: DcSession = { n: this.sessions.length + 1, openedAt: performance.now() };
    this.sessions.push(session);
    ws.on('close', () => {
      session.closedAt = performance.now();
    });
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null }));
    ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw)) as { op: number; d: unknown };
      if (msg.op === 1) ws.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
      if (msg.op === 2) {
        const d = msg.d as { token?: string };
        if (d.token !== this.token) {
          ws.close(4004, 'Authentication failed.');
          return;
        }
        session.identifyAt = performance.now();
        if (this.withholdReady) return;
        const open = this.sessions.filter((o) => o !== session && o.identifiedAt !== undefined && o.closedAt === undefined);
        if (open.length > 0) this.overlaps.push(`session ${session.n} identified while ${open.map((o) => o.n).join(', ')} open`);
        session.identifiedAt = performance.now();
        this.dispatch('READY', {
          v: 10,
          user: this.botUser,
          guilds: [],
          session_id: 'fake-session',
          resume_gateway_url: `ws://127.0.0.1:${this.port}`,
          shard: [0, 1],
          application: { id: this.appId, flags: 0 },
        });
        for (const [id, g] of this.guilds) this.dispatch('GUILD_CREATE', guildCreate(id, g.roles));
        this.markIdentified();
      }
    });
  }

  /** A new message: it notifies whom its content mentions (and allowed_mentions allows). */
  private create(channelId: string, body: Record<string, unknown>, flags = 0, files: UploadedFile[] = []): DcMessage {
    const m: DcMessage = {
      id: nextId(),
      channelId,
      content: typeof body['content'] === 'string' ? body['content'] : '',
      embeds: Array.isArray(body['embeds']) ? body['embeds'] : [],
      components: Array.isArray(body['components']) ? (body['components'] as DcMessage['components']) : [],
      flags,
      attachments: attachmentsOf([], body, files),
      edits: 0,
    };
    this.messages.set(m.id, m);
    for (const userId of notifiable(body)) this.notifications.push({ userId, messageId: m.id, at: Date.now() });
    return m;
  }

  /** An edit changes only the fields it sends (`components: []` takes the buttons away) and notifies nobody. */
  private edit(id: string, body: Record<string, unknown> | null, files: UploadedFile[] = []): DcMessage | undefined {
    const m = this.messages.get(id);
    if (!m) return undefined;
    m.attachments = attachmentsOf(m.attachments, body ?? {}, files);
    if (typeof body?.['content'] === 'string') m.content = body['content'];
    if (Array.isArray(body?.['embeds'])) m.embeds = body['embeds'];
    if (Array.isArray(body?.['components'])) m.components = body['components'] as DcMessage['components'];
    m.edits++;
    return m;
  }

  private record(call: DcCall): void {
    this.recorder.record(call);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = decodeURIComponent(url.pathname).replace(/^\/api\/v10/, '');
    const raw = await readBody(req);
    const { body, files } = await parse(req, raw);
    const method = req.method ?? 'GET';
    const authed =
      req.headers.authorization === `Bot ${this.token}` || route.startsWith('/interactions/') || route.startsWith('/webhooks/');
    if (!authed) return send(res, 401, { message: '401: Unauthorized', code: 0 });
    const call: DcCall = { method, route, body, files, at: Date.now() };
    const faulty = this.faults.findIndex((f) => f.match(call));
    const fault = faulty >= 0 ? this.faults.splice(faulty, 1)[0]?.fault : undefined;
    if (fault) call.failedWith = fault.drop ? 'drop' : (fault.status ?? 502);
    this.record(call);
    const held = this.holds.findIndex((h) => h.match(call));
    if (held >= 0) await this.holds.splice(held, 1)[0]?.released;
    if (!fault) return this.answer(method, route, body, files, res);
    // Applied: the call takes effect, its answer goes nowhere.
    if (fault.applied) await this.answer(method, route, body, files, { writeHead: () => ({ end: () => {} }), end: () => {} } as never);
    if (fault.drop) return void req.socket.destroy();
    const status = fault.status ?? 502;
    if (status >= 500) {
      res.writeHead(status, { 'content-type': 'text/html' });
      return void res.end(`<html><body>${status}</body></html>`);
    }
    if (status === 429) {
      const retryAfter = fault.retryAfter ?? 0.1;
      res.writeHead(429, {
        'content-type': 'application/json',
        'retry-after': String(retryAfter),
        ...(fault.global ? { 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' } : { 'x-ratelimit-scope': 'user' }),
      });
      return void res.end(
        JSON.stringify({ message: 'You are being rate limited.', retry_after: retryAfter, global: fault.global === true }),
      );
    }
    return send(res, status, { message: fault.message ?? `${status}`, code: fault.code ?? 0 });
  }

  /** Does what a call asks, as Discord would, and answers it. */
  private async answer(
    method: string,
    route: string,
    body: Record<string, unknown> | null,
    files: UploadedFile[],
    res: ServerResponse,
  ): Promise<void> {
    const message = (content: Record<string, unknown> | null) => ({
      id: nextId(),
      type: 0,
      channel_id: this.channelId,
      content: '',
      embeds: [],
      components: [],
      attachments: files.map((f, i) => ({
        id: String(i),
        filename: f.name,
        size: f.data.length,
        url: `http://127.0.0.1/${f.name}`,
        proxy_url: `http://127.0.0.1/${f.name}`,
      })),
      author: this.botUser,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      pinned: false,
      flags: 0,
      ...(content ?? {}),
    });
    if (method === 'GET' && route === '/gateway/bot') {
      return send(res, 200, {
        url: `ws://127.0.0.1:${this.port}`,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
      });
    }
    if (method === 'GET' && route === '/applications/@me') return send(res, 200, { id: this.appId, name: 'xenops', flags: 0 });
    const commands = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(route);
    if (commands) {
      const key = commands[2] ?? 'global';
      if (this.missingAccess.has(key)) return send(res, 403, { message: 'Missing Access', code: 50001 });
      if (method === 'GET') return send(res, 200, this.commands.get(key) ?? []);
      if (method === 'PUT') {
        const list = (body as unknown as Record<string, unknown>[]).map((c) => ({
          ...c,
          id: nextId(),
          application_id: this.appId,
          version: nextId(),
        }));
        this.commands.set(key, list);
        return send(res, 200, list);
      }
    }
    const problem = body ? checkMessage(body) : null;
    if (problem) return send(res, 400, { message: `Invalid Form Body: ${problem}`, code: 50035 });
    if (files.length > 10) return send(res, 400, { message: 'Maximum number of attachments in a message reached (10)', code: 30015 });
    const callback = /^\/interactions\/\d+\/([^/]+)\/callback$/.exec(route);
    if (method === 'POST' && callback) {
      const token = callback[1] ?? '';
      if (this.answered.has(token)) return send(res, 400, { message: 'Interaction has already been acknowledged.', code: 40060 });
      this.answered.add(token);
      const type = Number(body?.['type']);
      // A deferred reply is a message ("thinking…") that @original edits; a deferred update edits the clicked one.
      const where = this.channelOf.get(token) ?? this.channelId;
      if (type === 5) this.originals.set(token, this.create(where, {}, Number((body?.['data'] as { flags?: number })?.flags ?? 0)).id);
      if (type === 6) {
        const clicked = this.clickedOn.get(token);
        if (clicked) this.originals.set(token, clicked);
      }
      if (type === 4) this.originals.set(token, this.create(where, (body?.['data'] as Record<string, unknown>) ?? {}, 0, files).id);
      if (this.loseAnswer) {
        this.loseAnswer = false;
        res.writeHead(502, { 'content-type': 'text/html' });
        return void res.end('<html><body>502 Bad Gateway</body></html>');
      }
      res.writeHead(204);
      return void res.end();
    }
    const hook = /^\/webhooks\/\d+\/([^/]+)/.exec(route)?.[1];
    if (hook && this.expired.has(hook)) return send(res, 401, { message: 'Invalid Webhook Token', code: 50027 });
    const about = hook ? this.channelOf.get(hook) : /^\/channels\/(\d+)\//.exec(route)?.[1];
    if (about !== undefined && this.deletedChannels.has(about)) return send(res, 404, { message: 'Unknown Channel', code: 10003 });
    const original = /^\/webhooks\/\d+\/([^/]+)\/messages\/@original$/.exec(route);
    if (original) {
      const id = this.originals.get(original[1] ?? '');
      if (method === 'DELETE') {
        if (id) this.messages.delete(id);
        res.writeHead(204);
        return void res.end();
      }
      const edited = id ? this.edit(id, body, files) : undefined;
      // The deferred reply (or the clicked message) was deleted meanwhile.
      if (id && !edited) return send(res, 404, { message: 'Unknown Message', code: 10008 });
      return send(res, 200, message(edited ? view(edited) : body));
    }
    if (method === 'POST' && /^\/webhooks\/\d+\/[^/]+$/.test(route)) {
      const created = this.create(this.channelOf.get(hook ?? '') ?? this.channelId, body ?? {}, Number(body?.['flags'] ?? 0), files);
      return send(res, 200, message(view(created)));
    }
    const member = method === 'GET' ? /^\/guilds\/(\d+)\/members\/(\d+)$/.exec(route) : null;
    if (member) {
      const [, guildId = '', userId = ''] = member;
      if (this.failingMemberLookups.has(guildId)) return send(res, 500, { message: '500: Internal Server Error', code: 0 });
      const guild = this.guilds.get(guildId);
      if (!guild) return send(res, 404, { message: 'Unknown Guild', code: 10004 });
      const roles = guild.members.get(userId);
      if (!roles) return send(res, 404, { message: 'Unknown Member', code: 10007 });
      const user = { id: userId, username: `user${userId.slice(-1)}`, discriminator: '0', global_name: null, avatar: null };
      return send(res, 200, { user, roles, joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0 });
    }
    if (method === 'POST' && route === '/users/@me/channels') {
      const recipient = String(body?.['recipient_id'] ?? '');
      if (!/^\d+$/.test(recipient)) return send(res, 400, { message: 'Invalid Form Body: recipient_id', code: 50035 });
      const id = this.dmChannelOf(recipient);
      const user = { id: recipient, username: `user${recipient.slice(-1)}`, discriminator: '0', global_name: null, avatar: null };
      return send(res, 200, { id, type: 1, last_message_id: null, flags: 0, recipients: [user] });
    }
    const dmPost = method === 'POST' ? /^\/channels\/(\d+)\/messages$/.exec(route)?.[1] : undefined;
    if (dmPost && [...this.closedDms].some((u) => this.dmChannels.get(u) === dmPost))
      return send(res, 403, { message: 'Cannot send messages to this user', code: 50007 });
    const pin = /^\/channels\/(\d+)\/pins\/(\d+)$/.exec(route);
    if (pin && method === 'PUT') {
      const [, channelId = '', messageId = ''] = pin;
      const m = this.messages.get(messageId);
      if (!m || m.channelId !== channelId) return send(res, 404, { message: 'Unknown Message', code: 10008 });
      this.pins.add(messageId);
      res.writeHead(204).end();
      return;
    }
    const channelMessage = /^\/channels\/(\d+)\/messages(?:\/(\d+))?$/.exec(route);
    if (channelMessage) {
      const [, channelId = '', messageId] = channelMessage;
      if (method === 'POST' && !messageId) {
        // As Discord: a create repeating an enforced nonce gets the message made with it, no new one (Discord checks the
        // last few minutes; the fake, the whole run).
        const nonce = body?.['enforce_nonce'] === true && typeof body['nonce'] === 'string' ? `${channelId}/${body['nonce']}` : null;
        const earlier = nonce === null ? undefined : this.messages.get(this.nonces.get(nonce) ?? '');
        if (earlier) return send(res, 200, message(view(earlier)));
        const created = this.create(channelId, body ?? {}, 0, files);
        if (nonce !== null) this.nonces.set(nonce, created.id);
        return send(res, 200, message(view(created)));
      }
      if (method === 'PATCH' && messageId) {
        const edited = this.edit(messageId, body, files);
        if (!edited) return send(res, 404, { message: 'Unknown Message', code: 10008 });
        return send(res, 200, message(view(edited)));
      }
      return send(res, 200, message(body));
    }
    return send(res, 404, { message: '404: Not Found', code: 0 });
  }
}

/** A guild as the gateway announces it to a bot with the Guilds intent: its roles (no members without GuildMembers). */
function guildCreate(id: string, roles: readonly string[]): Record<string, unknown> {
  return {
    id,
    name: `guild ${id.slice(-2)}`,
    unavailable: false,
    owner_id: '100000000000000001',
    member_count: 0,
    roles: [id, ...roles].map((r, position) => ({
      id: r,
      name: r === id ? '@everyone' : `role ${r.slice(-2)}`,
      color: 0,
      hoist: false,
      position,
      permissions: '0',
      managed: false,
      mentionable: false,
      flags: 0,
    })),
    channels: [],
    threads: [],
    members: [],
    emojis: [],
    stickers: [],
    features: [],
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
  };
}

/** What Discord refuses where bad output would otherwise pass unnoticed: content over 2000, contradictory allowed_mentions. */
function checkMessage(body: Record<string, unknown>): string | null {
  const content = body['content'];
  if (typeof content === 'string' && content.length > 2000) return 'content: Must be 2000 or fewer in length.';
  const allowed = body['allowed_mentions'] as { parse?: string[]; users?: string[] } | undefined;
  if (allowed?.parse?.includes('users') && (allowed.users?.length ?? 0) > 0)
    return 'allowed_mentions: parse:["users"] and users: [ids] are mutually exclusive.';
  // An autocomplete result: at most 25 choices, each name 1-100 characters and a string value of at most 100.
  const choices = (body['data'] as { choices?: { name?: unknown; value?: unknown }[] } | undefined)?.choices;
  if (Array.isArray(choices)) {
    if (choices.length > 25) return 'data.choices: Must be 25 or fewer in length.';
    for (const [i, c] of choices.entries()) {
      const name = String(c.name ?? '');
      if (name.length < 1 || name.length > 100) return `data.choices.${i}.name: Must be between 1 and 100 in length.`;
      if (typeof c.value === 'string' && c.value.length > 100) return `data.choices.${i}.value: Must be 100 or fewer in length.`;
    }
  }
  return null;
}

/** The users a message's content mentions that allowed_mentions lets it notify (Discord's default: all of them). */
function notifiable(body: Record<string, unknown>): string[] {
  const content = typeof body['content'] === 'string' ? body['content'] : '';
  const mentioned = [...content.matchAll(/<@!?(\d+)>/g)].map((m) => m[1] ?? '');
  const allowed = body['allowed_mentions'] as { parse?: string[]; users?: string[] } | undefined;
  if (!allowed) return mentioned;
  return mentioned.filter((u) => allowed.parse?.includes('users') || allowed.users?.includes(u));
}

function view(m: DcMessage): Record<string, unknown> {
  return {
    id: m.id,
    channel_id: m.channelId,
    content: m.content,
    embeds: m.embeds,
    components: m.components,
    flags: m.flags,
    attachments: m.attachments.map((a) => ({
      id: a.id,
      filename: a.filename,
      size: a.size,
      content_type: a.contentType,
      url: `http://127.0.0.1/attachments/${a.id}/${a.filename}`,
      proxy_url: `http://127.0.0.1/attachments/${a.id}/${a.filename}`,
      ...(a.description ? { description: a.description } : {}),
    })),
  };
}

/**
 * A message's files after a create or edit, as Discord does it: with an `attachments` list, exactly the files it
 * names (an existing attachment by its id, a new upload by its index in `files[n]`); without one, the files held
 * so far plus the new uploads.
 */
function attachmentsOf(held: DcAttachment[], body: Record<string, unknown>, files: UploadedFile[]): DcAttachment[] {
  const fromUpload = (index: number, entry?: { filename?: string; description?: string }): DcAttachment[] => {
    const f = files[index];
    if (!f) return [];
    return [
      {
        id: nextId(),
        filename: entry?.filename ?? f.name,
        size: f.size,
        contentType: f.contentType,
        head: f.head,
        ...(entry?.description ? { description: entry.description } : {}),
        data: f.data,
      },
    ];
  };
  const list = body['attachments'];
  if (!Array.isArray(list)) return [...held, ...files.flatMap((_, i) => fromUpload(i))];
  return (list as { id?: string | number; filename?: string; description?: string }[]).flatMap((entry) => {
    const kept = held.find((a) => a.id === String(entry.id));
    return kept ? [kept] : fromUpload(Number(entry.id), entry);
  });
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(payload));
}

async function parse(req: IncomingMessage, raw: Buffer): Promise<{ body: Record<string, unknown> | null; files: DcCall['files'] }> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('multipart/form-data')) {
    const { fields, files } = await parseMultipart(type, raw);
    const json = fields['payload_json'];
    return { body: json ? (JSON.parse(json) as Record<string, unknown>) : null, files: files.map(({ field: _, ...f }) => f) };
  }
  return { body: raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : null, files: [] };
}
