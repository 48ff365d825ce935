import { readFile } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import type { HostConfig, SshDefaults } from '../../config/schema.ts';
import { HostKeyError, OutcomeUnknownError, TransportError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { fingerprintsEqual, sshFingerprint } from './fingerprint.ts';
import { buildCommand } from './quote.ts';
import { backoffDelay, Semaphore } from './semaphore.ts';
import type { RemoteRunner, RunOptions, RunResult, StreamOptions, StreamResult } from './types.ts';

export interface SshPoolOptions {
  hosts: Readonly<Record<string, HostConfig>>;
  defaults: SshDefaults;
  logger: Logger;
}

interface HostSlot {
  config: HostConfig;
  settings: SshDefaults;
  semaphore: Semaphore;
  ssh: NodeSSH | null;
  connecting: Promise<NodeSSH> | null;
  failures: number;
  lastFailureAt: number;
}

export interface HostPoolStats {
  connected: boolean;
  active: number;
  queued: number;
  failures: number;
}

/**
 * One persistent SSH connection per host (node-ssh over ssh2), pinned host keys, keepalive, reconnect with
 * backoff, at most `maxConcurrent` commands per host, a timeout on every command. The only module that
 * imports node-ssh.
 */
export class SshPool implements RemoteRunner {
  private readonly slots = new Map<string, HostSlot>();
  private closed = false;

  constructor(private readonly options: SshPoolOptions) {
    for (const [name, config] of Object.entries(options.hosts)) {
      const settings = { ...options.defaults, ...definedOnly(config.ssh) } as SshDefaults;
      this.slots.set(name, {
        config,
        settings,
        semaphore: new Semaphore(settings.maxConcurrent),
        ssh: null,
        connecting: null,
        failures: 0,
        lastFailureAt: 0,
      });
    }
  }

  stats(): Record<string, HostPoolStats> {
    const out: Record<string, HostPoolStats> = {};
    for (const [name, s] of this.slots) {
      out[name] = {
        connected: s.ssh?.isConnected() ?? false,
        active: s.semaphore.activeCount,
        queued: s.semaphore.queued,
        failures: s.failures,
      };
    }
    return out;
  }

  async run(host: string, argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const slot = this.slots.get(host);
    if (!slot) throw new TransportError(host, `unknown host ${host}`);
    if (this.closed) throw new TransportError(host, 'the SSH pool is closed');
    const command = buildCommand(argv, { sudo: slot.config.sudo });
    const release = await slot.semaphore.acquire(options.signal);
    try {
      const ssh = await this.connection(host, slot);
      return await this.exec(host, slot, ssh, command, options);
    } finally {
      release();
    }
  }

  /**
   * A long-lived command on the host's pooled connection (same connect, backoff and host-key pinning as run()), on a
   * channel of its own: no timeout, no semaphore slot (a sampler's stream would otherwise hold one forever), output
   * passed on chunk by chunk and never kept. Resolves when the channel closes: with the exit code, or null when the
   * connection was lost or the signal aborted it. Rejects with TransportError when it cannot start. The remote
   * command dies with its channel (OpenSSH closes its pipes; it is also sent SIGTERM when the signal aborts).
   */
  async stream(host: string, argv: readonly string[], options: StreamOptions): Promise<StreamResult> {
    const slot = this.slots.get(host);
    if (!slot) throw new TransportError(host, `unknown host ${host}`);
    if (this.closed) throw new TransportError(host, 'the SSH pool is closed');
    const command = buildCommand(argv, { sudo: slot.config.sudo });
    if (options.signal.aborted) throw new TransportError(host, `${firstWord(command)} on ${host} was cancelled before it started`);
    const ssh = await this.connection(host, slot);
    const client = ssh.connection;
    if (!client) throw new TransportError(host, `no connection to ${host}`);
    const { signal } = options;
    return new Promise<StreamResult>((resolve, reject) => {
      let settled = false;
      let channel: ClientChannel | null = null;
      let code: number | null = null;
      let forceTimer: NodeJS.Timeout | undefined;
      const finish = (result: StreamResult | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(forceTimer);
        signal.removeEventListener('abort', onAbort);
        client.removeListener('close', onConnectionClose);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const onConnectionClose = () => finish(channel ? { code: null } : new TransportError(host, `the connection to ${host} closed`));
      const onAbort = () => {
        if (!channel) return finish(new TransportError(host, `${firstWord(command)} on ${host} was cancelled before it started`));
        try {
          channel.signal('TERM');
        } catch {
          // the server may not support signals; closing the channel is what matters
        }
        channel.close();
        // A dead connection may never confirm the close: do not hang on it.
        forceTimer = setTimeout(() => finish({ code: null }), STREAM_CLOSE_WAIT_MS);
        forceTimer.unref();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      client.once('close', onConnectionClose);
      const started = (error: Error | undefined, ch: ClientChannel) => {
        if (error) {
          finish(new TransportError(host, `could not start ${firstWord(command)} on ${host}: ${error.message}`, { cause: error }));
          return;
        }
        channel = ch;
        if (settled) {
          ch.close();
          return;
        }
        const out = new StringDecoder('utf8');
        const err = new StringDecoder('utf8');
        ch.on('data', (chunk: Buffer) => {
          const text = out.write(chunk);
          if (text) options.onStdout(text);
        });
        ch.stderr.on('data', (chunk: Buffer) => {
          const text = err.write(chunk);
          if (text) options.onStderr?.(text);
        });
        ch.on('exit', (exitCode: number | null) => {
          code = typeof exitCode === 'number' ? exitCode : null;
        });
        ch.on('error', () => {
          // reported through 'close' (code null)
        });
        ch.on('close', () => {
          const rest = out.end();
          if (rest) options.onStdout(rest);
          finish({ code: signal.aborted ? null : code });
        });
        if (signal.aborted) onAbort();
      };
      try {
        client.exec(command, started);
      } catch (error) {
        if (slot.ssh === ssh) slot.ssh = null;
        finish(new TransportError(host, `could not start ${firstWord(command)} on ${host}: ${(error as Error).message}`, { cause: error }));
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots.values()) {
      slot.ssh?.dispose();
      slot.ssh = null;
    }
  }

  private async connection(host: string, slot: HostSlot): Promise<NodeSSH> {
    if (slot.ssh?.isConnected()) return slot.ssh;
    if (!slot.connecting) {
      slot.connecting = this.connect(host, slot).finally(() => {
        slot.connecting = null;
      });
    }
    return slot.connecting;
  }

  private async connect(host: string, slot: HostSlot): Promise<NodeSSH> {
    const wait = slot.lastFailureAt + backoffDelay(slot.failures, slot.settings.reconnectBaseMs, slot.settings.reconnectMaxMs) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const { config, settings } = slot;
    let presented: string | null = null;
    let privateKey: string;
    try {
      privateKey = config.privateKey ?? (await readFile(config.privateKeyPath ?? '', 'utf8'));
    } catch (error) {
      throw this.failed(
        slot,
        new TransportError(host, `cannot read the private key file for ${host} (${(error as NodeJS.ErrnoException).code ?? 'error'})`),
      );
    }
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: config.address,
        port: config.port,
        username: config.user,
        privateKey,
        ...(config.passphrase ? { passphrase: config.passphrase } : {}),
        readyTimeout: settings.readyTimeoutMs,
        keepaliveInterval: settings.keepaliveIntervalMs,
        keepaliveCountMax: settings.keepaliveCountMax,
        hostVerifier: (key: Buffer) => {
          presented = sshFingerprint(key);
          if (config.dangerouslyAcceptAnyHostKey) {
            this.options.logger.warn(
              { host, presented },
              'HOST KEY NOT CHECKED: dangerouslyAcceptAnyHostKey is set for this host (dev only)',
            );
            return true;
          }
          return config.hostKey !== undefined && fingerprintsEqual(config.hostKey, presented);
        },
      } as Parameters<NodeSSH['connect']>[0]);
    } catch (error) {
      ssh.dispose();
      if (
        presented !== null &&
        !config.dangerouslyAcceptAnyHostKey &&
        (config.hostKey === undefined || !fingerprintsEqual(config.hostKey, presented))
      ) {
        throw this.failed(slot, new HostKeyError(host, config.hostKey ?? null, presented));
      }
      const reason = (error as { level?: string; message?: string }).message ?? String(error);
      throw this.failed(
        slot,
        new TransportError(host, `cannot connect to ${host} (${config.address}:${config.port}): ${reason}`, { cause: error }),
      );
    }
    // node-ssh drops its own error listener after connecting; a late ECONNRESET would otherwise crash the process.
    ssh.connection?.on('error', (error: Error) => {
      if (!this.closed) this.options.logger.warn({ host, err: error.message }, 'ssh connection error; will reconnect on next use');
      if (slot.ssh === ssh) slot.ssh = null;
    });
    ssh.connection?.on('close', () => {
      if (slot.ssh === ssh) slot.ssh = null;
    });
    slot.failures = 0;
    slot.ssh = ssh;
    return ssh;
  }

  private failed(slot: HostSlot, error: TransportError): TransportError {
    slot.failures++;
    slot.lastFailureAt = Date.now();
    return error;
  }

  private async exec(host: string, slot: HostSlot, ssh: NodeSSH, command: string, options: RunOptions): Promise<RunResult> {
    const timeoutMs = options.timeoutMs ?? slot.settings.commandTimeoutMs;
    let channel: ClientChannel | null = null;
    let started = false;
    const abandon = () => {
      try {
        channel?.signal('KILL');
      } catch {
        // the server may not support signals; closing the channel is what matters
      }
      channel?.close();
    };
    const running = ssh.execCommand(command, {
      noTrim: true,
      onChannel: (ch) => {
        channel = ch;
        started = true;
      },
      ...(options.onStdout ? { onStdout: (chunk: Buffer) => options.onStdout?.(chunk.toString('utf8')) } : {}),
      ...(options.onStderr ? { onStderr: (chunk: Buffer) => options.onStderr?.(chunk.toString('utf8')) } : {}),
    });
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const interrupted = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abandon();
        reject(
          new OutcomeUnknownError(
            host,
            `${firstWord(command)} on ${host} did not finish within ${Math.round(timeoutMs / 1000)} s; its outcome is unknown`,
          ),
        );
      }, timeoutMs);
      onAbort = () => {
        abandon();
        reject(new OutcomeUnknownError(host, `${firstWord(command)} on ${host} was interrupted; its outcome is unknown`));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const result = await Promise.race([running, interrupted]);
      if (result.code === null) {
        if (slot.ssh === ssh) slot.ssh = null;
        ssh.dispose();
        throw new OutcomeUnknownError(host, `the connection to ${host} was lost while ${firstWord(command)} ran; its outcome is unknown`);
      }
      return { code: result.code, stdout: result.stdout, stderr: result.stderr };
    } catch (error) {
      if (error instanceof TransportError) throw error;
      if (slot.ssh === ssh) slot.ssh = null;
      ssh.dispose();
      const message = error instanceof Error ? error.message : String(error);
      if (started)
        throw new OutcomeUnknownError(
          host,
          `the connection to ${host} failed while ${firstWord(command)} ran (${message}); its outcome is unknown`,
        );
      throw new TransportError(host, `could not start a command on ${host}: ${message}`, { cause: error });
    } finally {
      clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
      running.catch(() => {});
    }
  }
}

/** How long an aborted stream waits for its channel to confirm the close before it resolves anyway. */
const STREAM_CLOSE_WAIT_MS = 1000;

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The program a command string runs, for messages (never the arguments: they may be long or sensitive). */
function firstWord(command: string): string {
  const words = command.split(' ').map((w) => w.replace(/^'|'$/g, ''));
  const skip = new Set(['sudo', '-n', '--', 'timeout']);
  return words.find((w) => !skip.has(w) && !/^\d+$/.test(w)) ?? 'command';
}
