import { createHash, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import ssh2 from 'ssh2';
import { encodeResponse, SESSION_COMMAND, type SessionCommandResult, SessionRequestParser } from '../core/remote-session.ts';
import { type ArmedFault, type OnCrash, takeFault } from './faults.ts';
import { type CommandIO, runCommand, streamsToClient } from './interpreter.ts';
import type { SimFleet, SimHostState } from './model.ts';

type ParsedKey = ReturnType<typeof ssh2.utils.parseKey> & {
  getPublicSSH(): Buffer;
  type: string;
  verify(data: Buffer, sig: Buffer, hash?: string): boolean;
};

export interface SimServerOptions {
  fleet: SimFleet;
  host: SimHostState;
  hostKey: string;
  authorizedKeys: ParsedKey[];
  timeScale: number;
  shutdownDelayMs: number;
  port: number;
  /** Whether another host answers a command (a hang fault armed there does not): a migration's target (interpreter.ts). */
  receiverAnswers?: (target: SimHostState, command: string) => boolean;
  /** Whether new connections to another host get through (it is not taken down): a migration's target. */
  reachable?: (target: SimHostState) => boolean;
}

/** One SSH connection: its socket, and a signal that aborts when the connection is gone for any reason. */
interface ClientHandle {
  socket: Socket | undefined;
  gone: AbortSignal;
}

/**
 * Where one command's output goes: an exec channel of its own, or a slot in a persistent session's answer.
 * `closed` aborts when the client can no longer receive it (channel closed, stream error).
 */
interface CommandChannel {
  out(text: string): void;
  err(text: string): void;
  /** The exit status, sent (exec) or added to the session's answer. */
  finish(code: number): void;
  readonly writable: boolean;
  readonly closed: AbortSignal;
}

function execChannel(stream: ssh2.ServerChannel): CommandChannel {
  const closed = new AbortController();
  const abort = () => closed.abort();
  // Nothing here reads stdin; draining it lets ssh2 emit 'close' when the client closes the channel (a server
  // channel closes only after its readable side has ended).
  stream.resume();
  stream.on('close', abort);
  stream.on('error', abort);
  return {
    out: (text) => stream.write(text),
    err: (text) => stream.stderr.write(text),
    finish: (code) => {
      stream.exit(code);
      stream.end();
    },
    get writable() {
      return stream.writable;
    },
    closed: closed.signal,
  };
}

/** OpenSSH's fingerprint of a public key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintOfBlob(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function parseKeyOrThrow(text: string | Buffer): ParsedKey {
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) throw new Error('no key found');
  return key as ParsedKey;
}

/** One simulated Dom0's SSH server: public-key auth for the authorized keys only, exec requests only. */
export class SimSshServer {
  /** Armed command faults (and the hostKey fault, if any), in arming order. */
  readonly faults: ArmedFault[] = [];
  /** Commands running right now, and the most seen at once (for concurrency-cap tests). */
  active = 0;
  maxActive = 0;
  /** Channels opened: one per exec, one per command session (however many commands it then runs). */
  channels = 0;
  private server: InstanceType<typeof ssh2.Server> | null = null;
  private readonly clients = new Set<ClientHandle>();
  private isDown = false;
  port = 0;
  hostKey: string;

  constructor(private readonly options: SimServerOptions) {
    this.hostKey = options.hostKey;
  }

  get fingerprint(): string {
    return fingerprintOfBlob(parseKeyOrThrow(this.hostKey).getPublicSSH());
  }

  /** Live SSH connections. */
  get connections(): number {
    return this.clients.size;
  }

  async listen(port = this.options.port): Promise<void> {
    const server = new ssh2.Server({ hostKeys: [this.hostKey] }, (client) => this.onClient(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        const address = server.address();
        this.port = typeof address === 'object' && address ? address.port : port;
        resolve();
      });
    });
  }

  /** Serves new connections with another host key from now on (existing connections keep theirs). */
  async swapHostKey(hostKey: string): Promise<void> {
    this.hostKey = hostKey;
    // A host that is down shows its new key once it is up again.
    if (this.down) return;
    // Stop listening at once; connections already open keep the old key until they end.
    this.server?.close();
    this.server = null;
    await this.listen(this.port);
  }

  /** Taken down: nothing listens on its port, so new connections are refused, until bringUp(). */
  get down(): boolean {
    return this.isDown;
  }

  /**
   * The Dom0 leaves the network: the listener closes first (a client reconnecting at once is refused, as by a host
   * whose sshd is gone), then every live connection is cut. Returns how many were cut; 0 when it was down already.
   */
  async takeDown(): Promise<number> {
    if (this.isDown) return 0;
    this.isDown = true;
    // net.Server.close() waits for the open connections, so they are cut before awaiting it.
    const closing = this.closeListener();
    const dropped = this.dropConnections();
    await closing;
    return dropped;
  }

  /** Listens again on the same port, with the host key it has now. */
  async bringUp(): Promise<void> {
    if (!this.isDown) return;
    try {
      await this.listen(this.port);
    } catch (error) {
      // Another process may have bound the freed port meanwhile; the host stays down.
      throw new Error(`cannot listen on 127.0.0.1:${this.port} again: ${(error as Error).message}`);
    }
    this.isDown = false;
  }

  private closeListener(): Promise<void> {
    const server = this.server;
    this.server = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  async close(): Promise<void> {
    this.dropConnections();
    await this.closeListener();
  }

  /** Cuts every live connection abruptly (no exit status, no disconnect message); returns how many. */
  dropConnections(): number {
    const n = this.clients.size;
    for (const c of this.clients) c.socket?.destroy();
    this.clients.clear();
    return n;
  }

  private onClient(client: ssh2.Connection): void {
    const socket = (client as unknown as { _sock?: Socket })._sock;
    // Without it Nagle's algorithm meets the client's delayed ACKs and every exchange waits ~40 ms.
    socket?.setNoDelay(true);
    const gone = new AbortController();
    const handle: ClientHandle = { socket, gone: gone.signal };
    this.clients.add(handle);
    const onGone = () => {
      this.clients.delete(handle);
      gone.abort();
    };
    // ssh2 closes the channels when the socket closes; watching the socket too makes "client gone" certain.
    client.on('close', onGone);
    socket?.once('close', onGone);
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const key = this.options.authorizedKeys.find((k) => k.type === ctx.key.algo && safeEqual(k.getPublicSSH(), ctx.key.data));
      if (!key) return ctx.reject(['publickey']);
      if (ctx.signature && ctx.blob && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      return ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('pty', (_a, reject) => reject?.());
        session.on('shell', (_a, reject) => reject?.());
        session.on('subsystem', (_a, reject) => reject?.());
        session.on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          this.channels++;
          if (info.command === SESSION_COMMAND) this.session(stream, handle);
          else void this.exec(info.command, execChannel(stream), handle);
        });
      });
    });
  }

  /**
   * The persistent session (src/core/remote-session.ts) as the real script behaves: requests are read from stdin
   * and run one after another, each command through exec() like any other (log, faults, concurrency), and each
   * request answered in one write. A malformed request ends the session, as the script exits on one.
   */
  private session(stream: ssh2.ServerChannel, client: ClientHandle): void {
    const closed = new AbortController();
    const abort = () => closed.abort();
    stream.on('close', abort);
    stream.on('error', abort);
    const parser = new SessionRequestParser();
    let work = Promise.resolve();
    stream.on('data', (chunk: Buffer) => {
      let requests: ReturnType<SessionRequestParser['push']>;
      try {
        requests = parser.push(chunk.toString('utf8'));
      } catch {
        stream.exit(98);
        stream.end();
        return;
      }
      for (const request of requests) {
        work = work.then(async () => {
          const trip = this.options.fleet.log.nextTrip();
          const results: SessionCommandResult[] = [];
          for (const command of request.commands) {
            // A dropped connection ends the session at once (its socket closes a tick later).
            if (closed.signal.aborted || client.socket?.destroyed) return;
            const result: SessionCommandResult = { code: 0, stdout: '', stderr: '' };
            await this.exec(
              command,
              {
                out: (text) => {
                  result.stdout += text;
                },
                err: (text) => {
                  result.stderr += text;
                },
                finish: (code) => {
                  result.code = code;
                },
                writable: true,
                closed: closed.signal,
              },
              client,
              trip,
            );
            results.push(result);
          }
          if (!closed.signal.aborted && stream.writable) stream.write(encodeResponse({ id: request.id, results }, request.nonce));
        });
      }
    });
  }

  /** `trip`: the session request it came in (an exec channel is a round trip of its own). */
  private async exec(command: string, channel: CommandChannel, client: ClientHandle, trip?: number): Promise<void> {
    const { fleet, host } = this.options;
    host.commandLog.push(command);
    const entry = fleet.log.append(host.name, command, trip);
    // Aborts when this command's client is gone: channel closed, stream error, or the whole connection lost.
    const controller = new AbortController();
    const abort = () => controller.abort();
    if (channel.closed.aborted) abort();
    else channel.closed.addEventListener('abort', abort, { once: true });
    if (client.gone.aborted) abort();
    else client.gone.addEventListener('abort', abort, { once: true });
    const fault = takeFault(this.faults, command);
    if (fault) entry.fault = { id: fault.id, kind: fault.kind };
    const drop = () => {
      client.socket?.destroy();
      fleet.log.finish(entry, { how: 'dropped' });
    };
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (fault?.kind === 'fail') {
        channel.err(fault.stderr);
        channel.finish(fault.code);
        fleet.log.finish(entry, { how: 'exit', code: fault.code });
        return;
      }
      if (fault?.kind === 'hang') {
        await new Promise<void>((resolve) => {
          if (controller.signal.aborted) resolve();
          else controller.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        fleet.log.finish(entry, { how: 'client-gone' });
        return;
      }
      if (fault?.kind === 'drop' && !fault.afterEffect) {
        drop();
        return;
      }
      let signal = controller.signal;
      let detached = false;
      if (fault?.kind === 'delay') {
        // The command is already running on the Dom0 while the client waits: it goes on even if the client leaves,
        // except commands that stream to the client (console attach, migrate, xentop), which stop with it.
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        if (controller.signal.aborted && !streamsToClient(command)) {
          signal = new AbortController().signal;
          detached = true;
        }
      }
      const code = await this.run(command, channel, signal, fault?.kind === 'crashOnArrival' ? fault.onCrash : undefined);
      if (fault?.kind === 'drop') {
        drop();
        return;
      }
      if (controller.signal.aborted) {
        // A detached command ran to completion: its exit code is known, just never delivered.
        fleet.log.finish(entry, detached ? { how: 'client-gone', code } : { how: 'client-gone' });
        return;
      }
      channel.finish(code);
      fleet.log.finish(entry, { how: 'exit', code });
    } finally {
      this.active--;
      client.gone.removeEventListener('abort', abort);
      channel.closed.removeEventListener('abort', abort);
    }
  }

  /** Runs the command; output goes to the stream while `signal` is not aborted. */
  private async run(command: string, channel: CommandChannel, signal: AbortSignal, crashOnArrival?: OnCrash): Promise<number> {
    const { fleet, host } = this.options;
    const open = () => !signal.aborted && channel.writable;
    const io: CommandIO = {
      out: (text) => {
        if (open()) channel.out(text);
      },
      err: (text) => {
        if (open()) channel.err(text);
      },
      signal,
      sleep: (ms) =>
        new Promise<void>((resolve, reject) => {
          if (signal.aborted) return reject(new Error('aborted'));
          const onAbort = () => {
            clearTimeout(timer);
            reject(new Error('aborted'));
          };
          const timer = setTimeout(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          }, ms * this.options.timeScale);
          signal.addEventListener('abort', onAbort, { once: true });
        }),
    };
    try {
      return await runCommand(fleet, host, command, io, {
        shutdownDelayMs: this.options.shutdownDelayMs * this.options.timeScale,
        crashOnArrival,
        receiverAnswers: this.options.receiverAnswers,
        reachable: this.options.reachable,
      });
    } catch {
      return 1;
    }
  }
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
