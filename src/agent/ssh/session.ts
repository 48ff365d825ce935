import { randomUUID } from 'node:crypto';
import type { Client, ClientChannel } from 'ssh2';
import {
  encodeRequest,
  SESSION_COMMAND,
  SESSION_EXIT_NO_TEMP,
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
  ) {
    super(message);
  }
}

/**
 * One persistent command session on an SSH connection (src/core/remote-session.ts): a remote `sh` that runs what
 * it is sent and answers each request in one write. One request at a time; the pool keeps idle sessions per host
 * and hands each to one caller. A session that failed in any way is closed and never reused.
 */
export class RemoteSession {
  private readonly parser = new SessionResponseParser();
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
  ) {
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

  /** Opens a session channel; rejects with a SessionFailure (nothing sent) when the server refuses the channel. */
  static open(client: Client): Promise<RemoteSession> {
    return new Promise((resolve, reject) => {
      try {
        client.exec(SESSION_COMMAND, (error, channel) => {
          if (error) reject(new SessionFailure(`could not open a command session: ${error.message}`, false, false));
          else resolve(new RemoteSession(channel, client));
        });
      } catch (error) {
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
