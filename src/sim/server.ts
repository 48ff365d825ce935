import { createHash, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import ssh2 from 'ssh2';
import { type CommandIO, runCommand } from './interpreter.ts';
import type { SimFleet, SimHostState } from './model.ts';

type ParsedKey = ReturnType<typeof ssh2.utils.parseKey> & {
  getPublicSSH(): Buffer;
  type: string;
  verify(data: Buffer, sig: Buffer, hash?: string): boolean;
};

/** A fault armed for the next command whose text matches. */
export type Fault =
  | { kind: 'fail'; match: RegExp; code: number; stderr: string }
  | { kind: 'hang'; match: RegExp }
  /** Drops the TCP connection without an exit status; `afterEffect` runs the command first (it did happen). */
  | { kind: 'drop'; match: RegExp; afterEffect: boolean };

export interface SimServerOptions {
  fleet: SimFleet;
  host: SimHostState;
  hostKey: string;
  authorizedKeys: ParsedKey[];
  timeScale: number;
  shutdownDelayMs: number;
  port: number;
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
  readonly faults: Fault[] = [];
  /** Commands running right now, and the most seen at once (for concurrency-cap tests). */
  active = 0;
  maxActive = 0;
  private server: InstanceType<typeof ssh2.Server> | null = null;
  private readonly clients = new Set<{ end(): void; _sock?: Socket }>();
  port = 0;
  hostKey: string;

  constructor(private readonly options: SimServerOptions) {
    this.hostKey = options.hostKey;
  }

  get fingerprint(): string {
    return fingerprintOfBlob(parseKeyOrThrow(this.hostKey).getPublicSSH());
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
    // Stop listening at once; connections already open keep the old key until they end.
    this.server?.close();
    this.server = null;
    await this.listen(this.port);
  }

  private closeListener(): Promise<void> {
    const server = this.server;
    this.server = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  async close(): Promise<void> {
    for (const c of this.clients) c._sock?.destroy();
    this.clients.clear();
    await this.closeListener();
  }

  /** Cuts every live connection abruptly (no exit status, no disconnect message). */
  dropConnections(): void {
    for (const c of this.clients) c._sock?.destroy();
  }

  private onClient(client: ssh2.Connection): void {
    const handle = client as unknown as { end(): void; _sock?: Socket };
    this.clients.add(handle);
    client.on('close', () => this.clients.delete(handle));
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
          void this.exec(info.command, stream, handle);
        });
      });
    });
  }

  private async exec(command: string, stream: ssh2.ServerChannel, client: { _sock?: Socket }): Promise<void> {
    const { fleet, host } = this.options;
    host.commandLog.push(command);
    const controller = new AbortController();
    stream.on('close', () => controller.abort());
    stream.on('error', () => controller.abort());
    const faultIndex = this.faults.findIndex((f) => f.match.test(command));
    const fault = faultIndex >= 0 ? this.faults.splice(faultIndex, 1)[0] : undefined;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (fault?.kind === 'fail') {
        stream.stderr.write(fault.stderr);
        finish(stream, fault.code);
        return;
      }
      if (fault?.kind === 'hang') {
        await new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
        return;
      }
      if (fault?.kind === 'drop' && !fault.afterEffect) {
        client._sock?.destroy();
        return;
      }
      const io: CommandIO = {
        out: (text) => {
          if (!controller.signal.aborted) stream.write(text);
        },
        err: (text) => {
          if (!controller.signal.aborted) stream.stderr.write(text);
        },
        signal: controller.signal,
        sleep: (ms) =>
          new Promise<void>((resolve, reject) => {
            if (controller.signal.aborted) return reject(new Error('aborted'));
            const onAbort = () => {
              clearTimeout(timer);
              reject(new Error('aborted'));
            };
            const timer = setTimeout(() => {
              controller.signal.removeEventListener('abort', onAbort);
              resolve();
            }, ms * this.options.timeScale);
            controller.signal.addEventListener('abort', onAbort, { once: true });
          }),
      };
      let code: number;
      try {
        code = await runCommand(fleet, host, command, io, { shutdownDelayMs: this.options.shutdownDelayMs * this.options.timeScale });
      } catch {
        code = 1;
      }
      if (fault?.kind === 'drop') {
        client._sock?.destroy();
        return;
      }
      if (!controller.signal.aborted) finish(stream, code);
    } finally {
      this.active--;
    }
  }
}

function finish(stream: ssh2.ServerChannel, code: number): void {
  stream.exit(code);
  stream.end();
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
