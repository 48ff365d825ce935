import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Config } from '../../config/schema.ts';
import { isFinal, type Reply, reply } from '../../core/reply.ts';
import type { BotCore, ChatAdapter, ReplyTarget } from '../types.ts';
import { DEFAULT_ATTACHMENTS_DIR, saveAttachments } from './attachments.ts';
import { renderForTerminal } from './render.ts';
import { readTerminalLine } from './to-request.ts';

export interface TerminalAdapterOptions {
  config: Config;
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream;
  /** How long one line may wait for its final reply before the next line goes on. */
  lineTimeoutMs?: number;
  /**
   * Where attachments (charts, full `xl info`, whole console snapshots…) are written, relative to the working
   * directory unless absolute; default `var/attachments`. The reply shows each one's path.
   */
  attachmentsDir?: string;
}

/**
 * The terminal chat: a prompt on a TTY; otherwise one message per line, handled in order (each to its final
 * reply before the next line is read), and `done` resolves after the last reply once input ends.
 */
export class TerminalAdapter implements ChatAdapter {
  readonly platform = 'terminal' as const;
  readonly processLocal = true;
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly waiting = new Map<string, () => void>();
  /** Unique across runs, or BullMQ would take a re-run's jobs for duplicates of the last run's. */
  private readonly session = randomBytes(4).toString('hex');
  private counter = 0;
  private stopped = false;
  private reading = false;

  constructor(private readonly options: TerminalAdapterOptions) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  async start(core: BotCore): Promise<void> {
    const tty = this.options.input.isTTY === true;
    const rl = createInterface({
      input: this.options.input,
      ...(tty ? { output: this.options.output, prompt: 'xenops> ' } : {}),
      terminal: tty,
    });
    if (tty) {
      this.options.output.write(
        `xenops terminal: you are ${this.options.config.terminal.defaultUser}; "@bob /list" speaks as bob; /help lists commands; Ctrl-D quits\n`,
      );
      rl.prompt();
    }
    this.reading = true;
    const run = async () => {
      for await (const line of rl) {
        if (this.stopped) break;
        await this.handleLine(core, line);
        if (tty) rl.prompt();
      }
      this.reading = false;
      this.resolveDone();
    };
    void run();
  }

  private async handleLine(core: BotCore, line: string): Promise<void> {
    const id = `t${this.session}-${++this.counter}`;
    const read = readTerminalLine(line, this.options.config.terminal.defaultUser, id);
    if (read.kind === 'nothing') return;
    this.options.output.write(`> ${line.trim()}\n`);
    // Not a request: answered here, never reaches the core (nothing to authorize or audit).
    if (read.kind === 'hint') {
      this.options.output.write(renderForTerminal(reply.result(read.text, [], { tone: 'info' })));
      return;
    }
    const req = read.request;
    const finished = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.options.output.write(`(no final answer for "${line.trim()}" yet; going on)\n`);
        resolve();
      }, this.options.lineTimeoutMs ?? 120_000);
      this.waiting.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await core.handle(req, { platform: 'terminal', channelId: 'terminal', requestId: id, state: {} });
    await finished;
  }

  /** Reading its input (until the input ends or the adapter stops). */
  connected(): boolean {
    return this.reading && !this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const resolve of this.waiting.values()) resolve();
  }

  async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    await this.write(reply);
    if (isFinal(reply)) {
      this.waiting.get(target.requestId)?.();
      this.waiting.delete(target.requestId);
    }
    return target;
  }

  async post(channelId: string, reply: Reply): Promise<ReplyTarget> {
    await this.write(reply);
    return { platform: 'terminal', channelId, requestId: `post-${Date.now()}`, state: {} };
  }

  /** The reply as text; its attachments saved to files first, so the text can say where they are. */
  private async write(reply: Reply): Promise<void> {
    const attachments = reply.attachments ?? [];
    const lines = attachments.length
      ? await saveAttachments(
          this.options.attachmentsDir ?? this.options.config.terminal.attachmentsDir ?? DEFAULT_ATTACHMENTS_DIR,
          attachments,
        )
      : undefined;
    this.options.output.write(renderForTerminal(reply, lines));
  }
}
