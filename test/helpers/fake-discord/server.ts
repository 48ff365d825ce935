import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { CallRecorder, parseMultipart, readBody } from '../recorder.ts';

export interface DcCall {
  method: string;
  route: string;
  body: Record<string, unknown> | null;
  files: { name: string; data: Buffer }[];
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

  /** Sends INTERACTION_CREATE as Discord would; returns the interaction id and token. */
  interact(userId: string, data: Record<string, unknown>, type: 2 | 3 | 4 = 2, roles: string[] = []): { id: string; token: string } {
    const id = nextId();
    const token = `itoken-${id}`;
    this.dispatch('INTERACTION_CREATE', {
      id,
      application_id: this.appId,
      type,
      token,
      version: 1,
      guild_id: this.guildId,
      channel_id: this.channelId,
      channel: { id: this.channelId, type: 0, name: 'ops', guild_id: this.guildId },
      member: {
        user: { id: userId, username: `user${userId.slice(-1)}`, discriminator: '0', global_name: null, avatar: null },
        roles,
        permissions: '0',
        joined_at: new Date(0).toISOString(),
        deaf: false,
        mute: false,
        flags: 0,
      },
      data,
      // Component clicks carry the message the component sits on.
      ...(type === 3
        ? {
            message: {
              id: nextId(),
              type: 0,
              channel_id: this.channelId,
              content: '',
              embeds: [],
              components: [],
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
      authorizing_integration_owners: { '0': this.guildId },
      context: 0,
      attachment_size_limit: 10_485_760,
    });
    return { id, token };
  }

  private dispatch(t: string, d: unknown): void {
    this.socket?.send(JSON.stringify({ op: 0, t, s: ++this.seq, d }));
  }

  private onSocket(ws: WebSocket): void {
    this.socket = ws;
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
        this.dispatch('READY', {
          v: 10,
          user: this.botUser,
          guilds: [],
          session_id: 'fake-session',
          resume_gateway_url: `ws://127.0.0.1:${this.port}`,
          shard: [0, 1],
          application: { id: this.appId, flags: 0 },
        });
        this.markIdentified();
      }
    });
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
    this.record({ method, route, body, files, at: Date.now() });
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
    if (method === 'POST' && /^\/interactions\/\d+\/[^/]+\/callback$/.test(route)) {
      res.writeHead(204);
      return void res.end();
    }
    if (/^\/webhooks\/\d+\/[^/]+\/messages\/@original$/.test(route)) {
      if (method === 'DELETE') {
        res.writeHead(204);
        return void res.end();
      }
      return send(res, 200, message(body));
    }
    if (method === 'POST' && /^\/webhooks\/\d+\/[^/]+$/.test(route)) return send(res, 200, message(body));
    if (/^\/channels\/\d+\/messages(\/\d+)?$/.test(route)) return send(res, 200, message(body));
    return send(res, 404, { message: '404: Not Found', code: 0 });
  }
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
    return { body: json ? (JSON.parse(json) as Record<string, unknown>) : null, files: files.map((f) => ({ name: f.name, data: f.data })) };
  }
  return { body: raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : null, files: [] };
}
