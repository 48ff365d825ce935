import { randomUUID } from 'node:crypto';
import type { Client, ClientChannel } from 'ssh2';
import {
  encodeRequest,
  SESSION_COMMAND,
  SESSION_EXIT_NO_TEMP,
  SessionAnswerTooLarge,
  type SessionCommandResult,
  SessionProtocolError,
  SessionResponseParser,
} from '../../core/remote-session.ts';

/** Why a session request did not come back, and whether its commands may have run. */
export class SessionFailure extends Error {
  override readonly name = 'SessionFailure';
  constructor(
    message: string,
    /** The request was written: its commands may have run (or be running). */
    readonly sent: boolean,
    /** The connection itself is gone (not just this session). */
    readonly connectionLost: boolean,
    /** The host cannot run sessions at all (use plain exec there). */
    readonly unsupported = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * One persistent command session on an SSH connection (src/core/remote-session.ts): a remote `sh` that runs what
 * it is sent and answers each request in one write. One request at a time; the pool keeps idle sessions per host
 * and hands each to one caller. A session that failed in any way is closed and never reused.
 */
export class RemoteSession {
  private readonly parser: SessionResponseParser;
  private nextId = 1;
  private waiting: { id: number; resolve: (r: SessionCommandResult[]) => void; reject: (e: SessionFailure) => void } | null = null;
  private dead: SessionFailure | null = null;
  private exitCode: number | null = null;
  private letGo: () => void = () => {};
  /**
   * Settles once the server has let go of the session's channel (its close came back) or the connection is gone:
   * sshd counts a session against MaxSessions until then.
   */
  readonly released = new Promise<void>((resolve) => {
    this.letGo = resolve;
  });

  private constructor(
    private readonly channel: ClientChannel,
    private readonly client: Client,
    maxAnswerBytes: number,
  ) {
    this.parser = new SessionResponseParser({ maxBytes: maxAnswerBytes });
    channel.on('data', (chunk: Buffer) => this.onData(chunk));
    channel.stderr.on('data', () => {
      // The script writes nothing to stderr; a login banner or shell noise there is ignored.
    });
    channel.on('exit', (code: number | null) => {
      this.exitCode = typeof code === 'number' ? code : null;
    });
    channel.on('error', () => {
      // reported through 'close'
    });
    channel.on('close', () => {
      this.letGo();
      // Exit 97: the script could not make its temp dir and read nothing: nothing ran, and no session will work.
      const unsupported = this.exitCode === SESSION_EXIT_NO_TEMP;
      const ended = `the command session ended${this.exitCode === null ? '' : ` (exit ${this.exitCode})`}`;
      this.fail(new SessionFailure(ended, this.waiting !== null && !unsupported, false, unsupported));
    });
    client.once('close', this.onConnectionClose);
  }

  /**
   * Opens a session channel; rejects with a SessionFailure (nothing sent) when the server refuses the channel, or
   * when `signal` aborts first: a server that never answers the request (a hung PAM session module) must not hold
   * the command past its deadline. A channel that comes after all is closed at once. `maxAnswerBytes` bounds what
   * one answer may hold.
   */
  static open(client: Client, options: { signal: AbortSignal; maxAnswerBytes: number }): Promise<RemoteSession> {
    const { signal, maxAnswerBytes } = options;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new SessionFailure('the command session was not opened in time', false, false));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        client.exec(SESSION_COMMAND, (error, channel) => {
          signal.removeEventListener('abort', onAbort);
          if (error) reject(new SessionFailure(`could not open a command session: ${error.message}`, false, false));
          else if (signal.aborted) channel.close();
          else resolve(new RemoteSession(channel, client, maxAnswerBytes));
        });
      } catch (error) {
        signal.removeEventListener('abort', onAbort);
        reject(new SessionFailure(`could not open a command session: ${(error as Error).message}`, false, true));
      }
    });
  }

  /** Whether this session is a channel of that connection (a pool keeps sessions across reconnects otherwise). */
  belongsTo(client: Client): boolean {
    return this.client === client;
  }

  get usable(): boolean {
    return this.dead === null && this.waiting === null;
  }

  /**
   * Sends the commands as one request and resolves with one result per command. Rejects with a SessionFailure
   * (`sent` says whether the commands may have run); the session is closed after any failure.
   */
  request(commands: readonly string[]): Promise<SessionCommandResult[]> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.waiting) return Promise.reject(new SessionFailure('the command session is busy', false, false));
    const id = this.nextId++;
    // 122 random bits. randomUUID draws from a buffer Node refills 128 UUIDs at a time; randomBytes made one getrandom
    // call per request (~45 µs each here, 3 % of the agent's CPU at a thousand hosts).
    const nonce = randomUUID().replaceAll('-', '');
    return new Promise((resolve, reject) => {
      this.waiting = { id, resolve, reject };
      this.parser.expect(id, nonce);
      try {
        this.channel.write(encodeRequest(id, commands, nonce));
      } catch (error) {
        this.fail(new SessionFailure(`could not send to the command session: ${(error as Error).message}`, false, false));
      }
    });
  }

  /** Ends the session (its remote shell exits when its stdin closes; a running command is not waited for). */
  close(reason = 'closed'): void {
    this.fail(new SessionFailure(`the command session was ${reason}`, this.waiting !== null, false));
  }

  private readonly onConnectionClose = () => {
    this.letGo();
    this.fail(new SessionFailure('the connection was lost', this.waiting !== null, true));
  };

  private onData(chunk: Buffer): void {
    let response: ReturnType<SessionResponseParser['push']>;
    try {
      response = this.parser.push(chunk);
    } catch (error) {
      if (error instanceof SessionAnswerTooLarge) {
        // The commands have run (the script answers once they end): closing ends its `cat`, and the shell then exits.
        this.fail(new SessionFailure(error.message, this.waiting !== null, false, false, { cause: error }));
        return;
      }
      const message = error instanceof SessionProtocolError ? error.message : String(error);
      this.fail(new SessionFailure(`the command session said something unexpected: ${message}`, this.waiting !== null, false));
      return;
    }
    const w = this.waiting;
    if (!response || !w) return;
    this.waiting = null;
    w.resolve(response.results);
  }

  private fail(failure: SessionFailure): void {
    if (!this.dead) {
      this.dead = failure;
      this.client.removeListener('close', this.onConnectionClose);
      try {
        this.channel.close();
      } catch {
        // already closed
      }
    }
    const w = this.waiting;
    this.waiting = null;
    w?.reject(failure);
  }
}
