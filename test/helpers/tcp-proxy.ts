import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback (e.g. in front of Redis) that a test can partition: from partition() on, every byte in
 * either direction is dropped while the connections stay open — the client notices nothing but silence, as behind
 * a dead switch. heal() resets those connections (their byte streams are out of step) and lets new ones through.
 */
interface Pair {
  client: Socket;
  upstream: Socket;
  frozen?: 'both' | 'replies';
  /** Client bytes held back (holdAt). */
  held?: Buffer[];
}

export class TcpProxy {
  private server: Server | null = null;
  private pairs = new Set<Pair>();
  private partitioned = false;
  /** A command that, once a client sends it, freezes that connection's replies (see freezeRepliesAt). */
  private trigger: ((chunk: Buffer) => boolean) | null = null;
  /** A command that, once a client sends it, freezes that connection (see freezeAt). */
  private freezeTrigger: { matches: (chunk: Buffer) => boolean; what: 'both' | 'replies'; fired: () => void } | null = null;
  /** A command that, once a client sends it, is held with all that follows it on its connection (see holdAt). */
  private holdTrigger: ((chunk: Buffer) => boolean) | null = null;
  private readonly replyWatchers: { matches: (chunk: Buffer) => boolean; sent: Set<Pair>; resolve: () => void }[] = [];
  private readonly counters: { pattern: RegExp; n: number }[] = [];
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** The proxy's address for a redis:// target given as a URL (same scheme, credentials and path). */
  static forUrl(url: string): TcpProxy {
    const u = new URL(url);
    return new TcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      const pair: Pair = { client, upstream };
      this.pairs.add(pair);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      for (const s of [client, upstream]) {
        s.on('error', drop);
        s.on('close', drop);
      }
      client.on('data', (d: Buffer) => {
        for (const w of this.replyWatchers) if (w.matches(d)) w.sent.add(pair);
        for (const c of this.counters) c.n += d.toString('latin1').match(c.pattern)?.length ?? 0;
        if (!pair.held && this.holdTrigger?.(d)) {
          this.holdTrigger = null;
          pair.held = [];
        }
        if (pair.held) {
          pair.held.push(d);
          return;
        }
        if (!this.partitioned && pair.frozen !== 'both') upstream.write(d);
        if (this.freezeTrigger?.matches(d)) {
          const { what, fired } = this.freezeTrigger;
          this.freezeTrigger = null;
          pair.frozen = what;
          fired();
        }
        if (this.trigger?.(d)) {
          this.trigger = null;
          pair.frozen = 'replies';
        }
      });
      upstream.on('data', (d: Buffer) => {
        if (!this.partitioned && !pair.frozen) client.write(d);
        for (const w of [...this.replyWatchers])
          if (w.sent.has(pair)) {
            this.replyWatchers.splice(this.replyWatchers.indexOf(w), 1);
            w.resolve();
          }
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  /** How many proxied connections are open now. */
  get connections(): number {
    return this.pairs.size;
  }

  /**
   * Drops the bytes of the connections open now, both ways, and leaves them open; new connections pass: a half-open
   * connection after a network blip, which no error ever reports, while the network itself works again.
   * `replies`: only the server's bytes are dropped (the commands still arrive and run; their answers are lost).
   * `closes: 'dropped'`: a client's FIN is lost too, as in a black hole; by default the proxy answers it with its own
   * FIN, so the client's close completes at once.
   */
  freezeOpen(what: 'both' | 'replies' = 'both', options: { closes?: 'answered' | 'dropped' } = {}): void {
    for (const p of this.pairs) {
      p.frozen = what;
      // Node ends a socket's own side when the far end's FIN arrives unless it is half-open.
      if (options.closes === 'dropped') p.client.allowHalfOpen = true;
    }
  }

  /**
   * The next connection to send bytes `matches` accepts goes silent from then on, as freezeOpen('replies') does: the
   * command arrives and runs, and neither its answer nor any later one comes back — a blip at a chosen instant.
   */
  freezeRepliesAt(matches: (chunk: Buffer) => boolean): void {
    this.trigger = matches;
  }

  /**
   * As freezeRepliesAt, or with `both` the commands after that one are dropped too (a NAT or firewall that forgot the
   * connection at a chosen instant; the matching command itself still reaches Redis). Only that connection: later ones
   * pass. Resolves once it has gone silent.
   */
  freezeAt(matches: (chunk: Buffer) => boolean, what: 'both' | 'replies'): Promise<void> {
    return new Promise((fired) => {
      this.freezeTrigger = { matches, what, fired };
    });
  }

  /**
   * The next bytes a client sends that `matches` accepts are held back, with everything that connection sends after
   * them, until the returned function is called: a command that reaches Redis late, after others sent later on other
   * connections. Returns the release.
   */
  holdAt(matches: (chunk: Buffer) => boolean): () => void {
    this.holdTrigger = matches;
    return () => {
      this.holdTrigger = null;
      for (const p of this.pairs) {
        const held = p.held;
        if (!held) continue;
        delete p.held;
        for (const d of held) p.upstream.write(d);
      }
    };
  }

  /** True while some connection's bytes are held back (holdAt matched, not yet released). */
  get holding(): boolean {
    return [...this.pairs].some((p) => p.held !== undefined);
  }

  /** Resolves once a connection that sent bytes `matches` accepts has had reply bytes back after them. */
  replied(matches: (chunk: Buffer) => boolean): Promise<void> {
    return new Promise((resolve) => this.replyWatchers.push({ matches, sent: new Set(), resolve }));
  }

  /**
   * From now on, counts how often `pattern` occurs in what clients send (within a chunk: two commands written in one
   * tick may come as one); returns the count so far.
   */
  countSent(pattern: RegExp): () => number {
    const counter = { pattern: new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`), n: 0 };
    this.counters.push(counter);
    return () => counter.n;
  }

  partition(): void {
    this.partitioned = true;
  }

  heal(): void {
    for (const p of [...this.pairs]) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
    this.partitioned = false;
  }

  async stop(): Promise<void> {
    this.heal();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
