import { constants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { NodeSSH } from 'node-ssh';
import type { Client, ClientChannel, PublicKeyAuthMethod } from 'ssh2';
import type { HostConfig, SshDefaults } from '../../config/schema.ts';
import { HostKeyError, OutcomeUnknownError, TransportError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { fitsSession, SessionAnswerTooLarge } from '../../core/remote-session.ts';
import { CommandDeadline, CommandTimeoutError, describeTimeout } from './deadline.ts';
import { fingerprintsEqual, sshFingerprint } from './fingerprint.ts';
import { DEFAULT_MAX_OUTPUT_BYTES, ExecOutput, tooLarge } from './output.ts';
import { loadPrivateKey } from './private-key.ts';
import { buildCommand } from './quote.ts';
import { backoffDelay, Semaphore } from './semaphore.ts';
import { RemoteSession, SessionFailure } from './session.ts';
import type { RemoteRunner, RunOptions, RunResult, StreamOptions, StreamResult } from './types.ts';

export interface SshPoolOptions {
  hosts: Readonly<Record<string, HostConfig>>;
  defaults: SshDefaults;
  logger: Logger;
  /**
   * Run short commands through a persistent command session per connection slot (src/core/remote-session.ts)
   * instead of an exec channel each: sshd's Nagle stall on exec channels costs ~40–90 ms a command. Default true;
   * a host that cannot run the session script falls back to exec by itself.
   */
  sessions?: boolean;
  /**
   * The most output one command (or batch) may return, stdout and stderr together; past it the command fails
   * saying so, and the rest is not read. It bounds the agent's memory against a runaway log.
   * @defaultValue 64 MiB
   */
  maxOutputBytes?: number;
}

interface HostSlot {
  config: HostConfig;
  settings: SshDefaults;
  semaphore: Semaphore;
  ssh: NodeSSH | null;
  connecting: Promise<NodeSSH> | null;
  /** The connection being made now (close() ends it). */
  dialing: NodeSSH | null;
  failures: number;
  /** Connections established to the host so far (for xenops_ssh_connects_total: every one, whoever asked). */
  connects: number;
  lastFailureAt: number;
  /** Why the last connection attempt failed (a message that names no secret), until one succeeds. */
  lastFailure: string | null;
  /** The error of the last connection attempt, until one succeeds. */
  lastError: TransportError | null;
  /** Idle command sessions on the current connection (each used by one caller at a time). */
  sessions: RemoteSession[];
  /**
   * Sessions closed to make room that the server may still count, with their connection (sshd counts per
   * connection): every new channel on that connection waits for them.
   */
  releasing: Map<Promise<void>, Client>;
  /** False once the host showed it cannot run a session: plain exec from then on. */
  sessionsWork: boolean;
  /** Commands and streams in flight on each connection. */
  users: Map<NodeSSH, number>;
  /** Connections no longer handed out, closed when their last user is done (see retire). */
  retired: Set<NodeSSH>;
}

export interface HostPoolStats {
  connected: boolean;
  active: number;
  queued: number;
  failures: number;
  /** Connections established so far: jobs', the sampler's stream's, reconnects. */
  connects: number;
}

/**
 * One persistent SSH connection per host (node-ssh over ssh2), pinned host keys, keepalive, reconnect with
 * backoff, at most `maxConcurrent` commands per host, a timeout on every command. The only module that
 * imports node-ssh.
 */
export class SshPool implements RemoteRunner {
  private readonly slots = new Map<string, HostSlot>();
  private closed = false;
  private readonly maxOutputBytes: number;

  constructor(private readonly options: SshPoolOptions) {
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    for (const [name, config] of Object.entries(options.hosts)) {
      const settings = { ...options.defaults, ...definedOnly(config.ssh) } as SshDefaults;
      this.slots.set(name, {
        config,
        settings,
        semaphore: new Semaphore(settings.maxConcurrent),
        ssh: null,
        connecting: null,
        dialing: null,
        failures: 0,
        connects: 0,
        lastFailureAt: 0,
        lastFailure: null,
        lastError: null,
        sessions: [],
        releasing: new Map(),
        sessionsWork: options.sessions ?? true,
        users: new Map(),
        retired: new Set(),
      });
    }
  }

  /** Whether the host's connection is up now. */
  isConnected(host: string): boolean {
    return this.slots.get(host)?.ssh?.isConnected() ?? false;
  }

  stats(): Record<string, HostPoolStats> {
    const out: Record<string, HostPoolStats> = {};
    for (const [name, s] of this.slots) {
      out[name] = {
        connected: s.ssh?.isConnected() ?? false,
        active: s.semaphore.activeCount,
        queued: s.semaphore.queued,
        failures: s.failures,
        connects: s.connects,
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
    let done: (() => void) | undefined;
    try {
      const ssh = await this.connectionWithin(host, slot, firstWord(command), options);
      done = using(slot, ssh);
      if (options.signal?.aborted) throw new TransportError(host, `${firstWord(command)} on ${host} was cancelled before it was sent`);
      if (!options.onStdout && !options.onStderr) {
        const results = await this.viaSession(host, slot, ssh, [command], options);
        if (results?.[0]) return results[0];
      }
      return await this.exec(host, slot, ssh, command, options);
    } finally {
      done?.();
      release();
    }
  }

  /**
   * Several commands in one round trip (one session request, one command slot), run one after another on the
   * host; one result each, in order. Where sessions cannot be used they run as execs, one after another.
   */
  async runBatch(
    host: string,
    argvs: readonly (readonly string[])[],
    options: Omit<RunOptions, 'onStdout' | 'onStderr'> = {},
  ): Promise<RunResult[]> {
    const slot = this.slots.get(host);
    if (!slot) throw new TransportError(host, `unknown host ${host}`);
    if (this.closed) throw new TransportError(host, 'the SSH pool is closed');
    const commands = argvs.map((a) => buildCommand(a, { sudo: slot.config.sudo }));
    const release = await slot.semaphore.acquire(options.signal);
    let done: (() => void) | undefined;
    try {
      const ssh = await this.connectionWithin(host, slot, firstWord(commands[0] ?? ''), options);
      done = using(slot, ssh);
      const results = await this.viaSession(host, slot, ssh, commands, options);
      if (results) return results;
      const out: RunResult[] = [];
      for (const command of commands) out.push(await this.exec(host, slot, ssh, command, options));
      return out;
    } finally {
      done?.();
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
    const done = using(slot, ssh);
    const { signal } = options;
    return new Promise<StreamResult>((resolve, reject) => {
      let settled = false;
      let channel: ClientChannel | null = null;
      let code: number | null = null;
      let forceTimer: NodeJS.Timeout | undefined;
      const finish = (result: StreamResult | Error) => {
        if (settled) return;
        settled = true;
        done();
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
      for (const session of slot.sessions) session.close();
      slot.sessions = [];
      slot.ssh?.dispose();
      slot.ssh = null;
      slot.dialing?.dispose();
      for (const ssh of slot.retired) ssh.dispose();
      slot.retired.clear();
    }
  }

  /**
   * The commands through an idle session of this connection (or a new one). Null when sessions cannot be used
   * here — nothing was sent, so the caller runs them as execs. The command's timeout covers opening its session
   * too. Failures map as exec's do: nothing sent is a TransportError, a request that may have run is an
   * OutcomeUnknownError. A failure closes this session only: the connection's other channels (a migration's,
   * another caller's session) are not this command's to cut. A lost connection is dropped; one whose server may
   * still hold a channel given up on is retired.
   */
  private async viaSession(
    host: string,
    slot: HostSlot,
    ssh: NodeSSH,
    commands: readonly string[],
    options: RunOptions,
  ): Promise<RunResult[] | null> {
    const client = ssh.connection;
    if (!slot.sessionsWork || !client || !commands.every(fitsSession)) return null;
    // Messages name the first program (a batched read leads with the list it is for).
    const what = firstWord(commands[0] ?? '');
    const deadline = new CommandDeadline(options.timeoutMs ?? slot.settings.commandTimeoutMs, options.signal);
    let running: Promise<RunResult[]> | undefined;
    try {
      const session = await this.idleOrNewSession(slot, ssh, client, deadline);
      if (session === null) return null;
      // Ended while connecting or opening the session: nothing has been written, so nothing is sent now.
      if (session === undefined || deadline.ended) {
        if (session) slot.sessions.push(session);
        throw deadline.ended === 'cancelled'
          ? new TransportError(host, `${what} on ${host} was cancelled before it was sent`)
          : new TransportError(
              host,
              `could not start ${what} on ${host}: no command session opened within ${describeTimeout(deadline.timeoutMs)}`,
            );
      }
      running = session.request(commands);
      const results = await Promise.race([running, deadline.reached]);
      if (results) {
        slot.sessions.push(session);
        return results;
      }
      session.close(deadline.ended === 'cancelled' ? 'cancelled' : 'timed out');
      retire(slot, ssh);
      throw deadline.ended === 'cancelled'
        ? new OutcomeUnknownError(host, `${what} on ${host} was interrupted; its outcome is unknown`)
        : new CommandTimeoutError(host, what, deadline.timeoutMs);
    } catch (error) {
      if (error instanceof TransportError) throw error;
      return this.sessionFailed(host, slot, ssh, what, error);
    } finally {
      deadline.dispose();
      running?.catch(() => {});
    }
  }

  /**
   * An idle session of this connection, or a new one opened within the deadline (undefined when the deadline ended
   * first: the caller says why); null when the server refused a session channel, so exec may still work.
   */
  private async idleOrNewSession(
    slot: HostSlot,
    ssh: NodeSSH,
    client: Client,
    deadline: CommandDeadline,
  ): Promise<RemoteSession | null | undefined> {
    dropForeignSessions(slot, client);
    let session = slot.sessions.pop();
    while (session && !session.usable) session = slot.sessions.pop();
    if (session) return session;
    await this.makeRoom(slot, client, deadline.signal);
    if (deadline.ended) return undefined;
    try {
      return await RemoteSession.open(client, { signal: deadline.signal, maxAnswerBytes: this.maxOutputBytes });
    } catch {
      // Refused (MaxSessions, a restricted account): exec may still work.
      if (!deadline.ended) return null;
      // Not answered in time: the server may hold the channel it has not confirmed (see retire).
      retire(slot, ssh);
      return undefined;
    }
  }

  /** A session request that failed other than by its deadline (the session is closed already). */
  private sessionFailed(host: string, slot: HostSlot, ssh: NodeSSH, what: string, error: unknown): null {
    if (error instanceof SessionFailure && error.unsupported) {
      slot.sessionsWork = false;
      this.options.logger.warn(
        { host, reason: error.message },
        'this host cannot run a command session; using one exec channel per command',
      );
      return null;
    }
    if (error instanceof SessionFailure && error.connectionLost) {
      if (slot.ssh === ssh) slot.ssh = null;
      ssh.dispose();
    }
    if (error instanceof SessionFailure && !error.sent)
      throw new TransportError(host, `could not start ${what} on ${host}: ${error.message}`, { cause: error });
    if (error instanceof SessionFailure && error.cause instanceof SessionAnswerTooLarge)
      throw new OutcomeUnknownError(host, tooLarge(what, host, error.cause.limit), { cause: error });
    const message = error instanceof Error ? error.message : String(error);
    throw new OutcomeUnknownError(
      host,
      error instanceof SessionFailure && error.connectionLost
        ? `the connection to ${host} was lost while ${what} ran; its outcome is unknown`
        : `the command session on ${host} failed while ${what} ran (${message}); its outcome is unknown`,
      { cause: error },
    );
  }

  /**
   * Closes idle command sessions until the connection's channels fit the host's command slots again (each slot holder
   * has one channel at most; an idle session keeps its own): an exec channel opened beside idle sessions and the
   * sampler's stream went past sshd's MaxSessions (10 by default; maxConcurrent ≤ 9 leaves one for the stream) and
   * was refused. Then waits, briefly, for sshd to let go of every session closed so (this caller's or another's): it
   * counts a session until its shell has exited. Called before any new channel of a slot holder; `signal` ends the
   * wait early (the command's deadline).
   */
  private async makeRoom(slot: HostSlot, client: Client, signal?: AbortSignal): Promise<void> {
    dropForeignSessions(slot, client);
    while (slot.sessions.length > 0 && slot.sessions.length + slot.semaphore.activeCount > slot.settings.maxConcurrent) {
      const idle = slot.sessions.shift() as RemoteSession;
      idle.close('closed to make room for a command channel');
      const released = idle.released;
      slot.releasing.set(released, client);
      void released.then(() => slot.releasing.delete(released));
    }
    const pending = [...slot.releasing].filter(([, c]) => c === client).map(([released]) => released);
    if (pending.length === 0 || signal?.aborted) return;
    let timer: NodeJS.Timeout | undefined;
    let stop: (() => void) | undefined;
    await Promise.race([
      Promise.all(pending),
      new Promise<void>((resolve) => {
        stop = () => resolve();
        timer = setTimeout(stop, SESSION_CLOSE_WAIT_MS);
        signal?.addEventListener('abort', stop, { once: true });
      }),
    ]);
    clearTimeout(timer);
    if (stop) signal?.removeEventListener('abort', stop);
  }

  /**
   * The host's connection, waited for no longer than the command's timeout, and not after its cancel: the handshake
   * (`readyTimeoutMs`) and the reconnect backoff may each take longer than a read may. Nothing has been sent then. The
   * attempt goes on for the commands that come after.
   */
  private async connectionWithin(host: string, slot: HostSlot, what: string, options: RunOptions): Promise<NodeSSH> {
    // The usual case, on every command: no deadline (a timer) to set up for a connection already there.
    if (slot.ssh?.isConnected()) return slot.ssh;
    const pending = this.connection(host, slot);
    pending.catch(() => {});
    const deadline = new CommandDeadline(options.timeoutMs ?? slot.settings.commandTimeoutMs, options.signal);
    try {
      const ssh = await Promise.race([pending, deadline.reached]);
      if (ssh) return ssh;
      if (deadline.ended === 'cancelled') throw new TransportError(host, `${what} on ${host} was cancelled before it was sent`);
      const last = slot.lastFailure ? ` (the last attempt: ${slot.lastFailure})` : '';
      throw new TransportError(
        host,
        `could not start ${what} on ${host}: no connection within ${describeTimeout(deadline.timeoutMs)}${last}`,
      );
    } finally {
      deadline.dispose();
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
    // A host that presented another key will present it again: its commands are refused so now, not after waiting out
    // the backoff (or as "no connection" at their timeout); the next attempt is made by a command after the backoff.
    const refused = slot.lastError;
    if (wait > 0 && refused instanceof HostKeyError) throw new HostKeyError(host, refused.expected, refused.presented);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (this.closed) throw new TransportError(host, 'the SSH pool is closed');
    const { config, settings } = slot;
    let presented: string | null = null;
    // Read and decrypted here, so that a key this machine cannot use is said to be that, not "cannot connect"; ssh2
    // signs with this parsed key (an authHandler's key is taken as it is), rather than decrypting the text again.
    const { key: privateKey, problem } = await loadPrivateKey(host, config);
    if (problem !== undefined) throw this.failed(slot, new TransportError(host, problem));
    const publicKey: PublicKeyAuthMethod = { type: 'publickey', username: config.user, key: privateKey };
    const ssh = new NodeSSH();
    slot.dialing = ssh;
    try {
      await ssh.connect({
        host: config.address,
        port: config.port,
        username: config.user,
        authHandler: [publicKey],
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
      if (this.closed) throw new TransportError(host, 'the SSH pool is closed');
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
    } finally {
      if (slot.dialing === ssh) slot.dialing = null;
    }
    // Closed while the handshake ran: nothing may run on it, and nothing else would ever close it.
    if (this.closed) {
      ssh.dispose();
      throw new TransportError(host, 'the SSH pool is closed');
    }
    // Nagle's algorithm meeting the server's delayed ACKs stalls every small exchange by ~40 ms.
    ssh.connection?.setNoDelay(true);
    // node-ssh drops its own error listener after connecting; a late ECONNRESET would otherwise crash the process.
    ssh.connection?.on('error', (error: Error) => {
      if (!this.closed) this.options.logger.warn({ host, err: error.message }, 'ssh connection error; will reconnect on next use');
      if (slot.ssh === ssh) slot.ssh = null;
    });
    ssh.connection?.on('close', () => {
      if (slot.ssh === ssh) slot.ssh = null;
    });
    slot.failures = 0;
    slot.connects++;
    slot.lastFailure = null;
    slot.lastError = null;
    slot.ssh = ssh;
    return ssh;
  }

  private failed(slot: HostSlot, error: TransportError): TransportError {
    slot.failures++;
    slot.lastFailureAt = Date.now();
    slot.lastFailure = error.message;
    slot.lastError = error;
    return error;
  }

  private async exec(host: string, slot: HostSlot, ssh: NodeSSH, command: string, options: RunOptions): Promise<RunResult> {
    if (ssh.connection) await this.makeRoom(slot, ssh.connection);
    if (options.signal?.aborted) throw new TransportError(host, `${firstWord(command)} on ${host} was cancelled before it was sent`);
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
    // Given up on while it may still run: its channel may stay counted by sshd (see retire).
    const giveUp = () => {
      abandon();
      retire(slot, ssh);
    };
    let overflow: (() => void) | undefined;
    // node-ssh decodes each chunk on its own, which turns a character cut by a packet's end into U+FFFD: the output
    // is decoded here instead, and node-ssh's copy is ignored.
    const output = new ExecOutput(this.maxOutputBytes, options, () => overflow?.());
    const running = ssh.execCommand(command, {
      noTrim: true,
      onChannel: (ch) => {
        channel = ch;
        started = true;
      },
      onStdout: (chunk: Buffer) => output.stdout(chunk),
      onStderr: (chunk: Buffer) => output.stderr(chunk),
    });
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const interrupted = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        giveUp();
        reject(new CommandTimeoutError(host, firstWord(command), timeoutMs));
      }, timeoutMs);
      onAbort = () => {
        giveUp();
        reject(new OutcomeUnknownError(host, `${firstWord(command)} on ${host} was interrupted; its outcome is unknown`));
      };
      overflow = () => {
        abandon();
        reject(new OutcomeUnknownError(host, tooLarge(firstWord(command), host, this.maxOutputBytes)));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const result = await Promise.race([running, interrupted]);
      // Killed on the host (an exit-signal, not an exit-status): the connection is fine. A shell reports it as
      // 128 + the signal's number, and so does the command session: so does this.
      const killedBy = result.code === null && result.signal ? signalNumber(result.signal) : null;
      if (killedBy !== null) return { code: 128 + killedBy, ...output.end() };
      if (result.code === null && result.signal)
        throw new OutcomeUnknownError(host, `${firstWord(command)} on ${host} was ended by ${result.signal}; its outcome is unknown`);
      if (result.code === null) {
        if (slot.ssh === ssh) slot.ssh = null;
        ssh.dispose();
        throw new OutcomeUnknownError(host, `the connection to ${host} was lost while ${firstWord(command)} ran; its outcome is unknown`);
      }
      return { code: result.code, ...output.end() };
    } catch (error) {
      if (error instanceof TransportError) throw error;
      // A channel the server refused (MaxSessions) says nothing about the connection: dropping it would cut what
      // else runs on it (a migration, the sampler's stream, other callers' sessions).
      if (!channelRefused(error)) {
        if (slot.ssh === ssh) slot.ssh = null;
        ssh.dispose();
      }
      const message = error instanceof Error ? error.message : String(error);
      // The connection went while the exec request awaited its answer (ssh2 then says "Unable to exec", as for a
      // refusal, or "No response from server"): that request carries the command, and sshd starts the command before
      // it confirms it. Only a connection gone before anything was asked of it ("Not connected") sent nothing.
      if (!started && !ssh.isConnected() && /^(Unable to exec|No response from server)$/.test(message))
        throw new OutcomeUnknownError(host, `the connection to ${host} was lost while ${firstWord(command)} ran; its outcome is unknown`, {
          cause: error,
        });
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
/** How long a new channel waits for the sessions closed to make room to be let go of by the server (see makeRoom). */
const SESSION_CLOSE_WAIT_MS = 2000;

/**
 * Closes and forgets the idle sessions of a connection given up on (one kept in use across a reconnect is put back
 * afterwards): of no use on this one, and not counted against its MaxSessions either.
 */
function dropForeignSessions(slot: HostSlot, client: Client): void {
  const own: RemoteSession[] = [];
  for (const session of slot.sessions) {
    if (session.belongsTo(client)) own.push(session);
    else session.close();
  }
  slot.sessions = own;
}

/** The number of a signal as ssh2 names it (`SIGKILL`), or null for one this system does not know. */
function signalNumber(name: string): number | null {
  return Object.hasOwn(constants.signals, name) ? constants.signals[name as NodeJS.Signals] : null;
}

/**
 * ssh2's refusal of one channel — CHANNEL_OPEN_FAILURE (with its `reason` code) or an exec request declined — as
 * opposed to an error of the connection itself.
 */
function channelRefused(error: unknown): boolean {
  return error instanceof Error && ('reason' in error || error.message === 'Unable to exec');
}

/** Counts a command or stream in flight on a connection; the function returned says it is done (once). */
function using(slot: HostSlot, ssh: NodeSSH): () => void {
  slot.users.set(ssh, (slot.users.get(ssh) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const left = (slot.users.get(ssh) ?? 1) - 1;
    if (left > 0) return void slot.users.set(ssh, left);
    slot.users.delete(ssh);
    if (slot.retired.delete(ssh)) ssh.dispose();
  };
}

/**
 * Hands out no more of this connection, and closes it once nothing runs on it. After a command was given up on:
 * sshd counts its channel (against MaxSessions) until the remote shell exits, and a shell waiting on a hung command
 * does not (sshd ignores signals for root logins), so the connection could run out of channels. Closing it at once
 * would cut what else runs on it (a migration, another caller's command); the next command opens a fresh one.
 */
function retire(slot: HostSlot, ssh: NodeSSH): void {
  if (slot.ssh === ssh) slot.ssh = null;
  if (slot.users.has(ssh)) slot.retired.add(ssh);
  else ssh.dispose();
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The program a command string runs, for messages (never the arguments: they may be long or sensitive). */
function firstWord(command: string): string {
  const words = command.split(' ').map((w) => w.replace(/^'|'$/g, ''));
  const skip = new Set(['sudo', '-n', '--', 'timeout']);
  return words.find((w) => !skip.has(w) && !/^\d+$/.test(w)) ?? 'command';
}
