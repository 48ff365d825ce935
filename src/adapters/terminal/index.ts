import { randomBytes } from 'node:crypto';
import { createInterface, type Interface } from 'node:readline';
import type { Config } from '../../config/schema.ts';
import { echoValue } from '../../core/args.ts';
import { showControls } from '../../core/control-chars.ts';
import { isFinal, type Reply, reply } from '../../core/reply.ts';
import type { BotCore, ChatAdapter, ReplyTarget } from '../types.ts';
import { DEFAULT_ATTACHMENTS_DIR, saveAttachments } from './attachments.ts';
import { renderForTerminal } from './render.ts';
import { readTerminalLine } from './to-request.ts';

/** Code points of a line echoed whole; a longer one (a file pasted by mistake) is cut. */
const ECHO_MAX = 500;

/**
 * The line as echoed above its replies: what was typed, but its control characters shown, not acted on (a pasted
 * escape sequence would recolour, move the cursor or write the clipboard), and a huge paste cut, its length said.
 */
function echoOf(line: string): string {
  const chars = Array.from(line);
  const shown = chars.length > ECHO_MAX ? `${chars.slice(0, ECHO_MAX).join('')}… (${chars.length} characters)` : line;
  return showControls(shown, (c) => (c === '\t' ? c : null));
}

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
 * reply before the next line is read), and `done` resolves after the last reply once input ends — also the reply
 * of a line the next one no longer waited for (lineTimeoutMs). Ctrl-C on the prompt stops at once: the lines
 * typed ahead are not run.
 */
export class TerminalAdapter implements ChatAdapter {
  readonly platform = 'terminal' as const;
  readonly processLocal = true;
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  /** Requests whose final reply has not come yet: resolved by it, or by stop(). */
  private readonly waiting = new Map<string, () => void>();
  /** Unique across runs, or BullMQ would take a re-run's jobs for duplicates of the last run's. */
  private readonly session = randomBytes(4).toString('hex');
  /** Of the requests this terminal's lines made: only those are waited for. */
  private readonly idPrefix = `t${this.session}-`;
  private counter = 0;
  private stopped = false;
  private reading = false;
  private readonly due = new Set<Promise<void>>();
  private rl: Interface | null = null;
  private closed = false;
  /**
   * The line just read, as echoed: written with the first output after it, or once the task that read it is over,
   * whichever comes first. Written at once, its write (a system call) came before the request's own Redis write, on
   * every command's critical path; output stays in order either way.
   */
  private echo: string | null = null;
  private readonly flushEcho = () => this.out('');

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
    this.rl = rl;
    rl.on('close', () => {
      this.closed = true;
    });
    // On a TTY readline takes Ctrl-C (raw mode: no SIGINT reaches the process) and, unheard, only closes its input:
    // the command running would be waited for, then the lines typed ahead run. Ctrl-C means stop, now.
    rl.on('SIGINT', () => {
      this.options.output.write('^C: stopping\n');
      void this.stop();
    });
    if (tty) {
      this.options.output.write(
        `xenops terminal: you are ${this.options.config.terminal.defaultUser}${this.options.config.terminal.speakAs ? '; "@bob /list" speaks as bob' : ''}; /help lists commands; Ctrl-D quits\n`,
      );
      rl.prompt();
    }
    this.reading = true;
    const run = async () => {
      for await (const line of rl) {
        if (this.stopped) break;
        await this.handleLine(core, line);
        if (tty && !this.closed) rl.prompt();
      }
      this.reading = false;
      // A script's last replies are part of it: the answers still due (lines timed out) are waited for too.
      await this.finalsDue();
      this.resolveDone();
    };
    void run();
  }

  private async handleLine(core: BotCore, line: string): Promise<void> {
    const id = `${this.idPrefix}${++this.counter}`;
    const { defaultUser, speakAs } = this.options.config.terminal;
    const read = readTerminalLine(line, defaultUser, id, Date.now(), speakAs);
    if (read.kind === 'nothing') return;
    this.echo = `> ${echoOf(line.trim())}\n`;
    setImmediate(this.flushEcho);
    // Not a request: answered here, never reaches the core (nothing to authorize or audit).
    if (read.kind === 'hint') {
      this.out(renderForTerminal(reply.result(read.text, [], { tone: 'info' })));
      return;
    }
    const req = read.request;
    const answered = this.awaitFinal(id);
    let timer: NodeJS.Timeout | undefined;
    const goOn = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        // Still awaited (its reply prints when it comes, and the end of input waits for it); only the next line goes on.
        this.out(`(no final answer for ${echoValue(line.trim())} yet; going on)\n`);
        resolve();
      }, this.options.lineTimeoutMs ?? 120_000);
    });
    await core.handle(req, { platform: 'terminal', channelId: 'terminal', requestId: id, state: {} });
    await Promise.race([answered, goOn]);
    clearTimeout(timer);
  }

  /** Resolves with the request's final reply (or stop()); until then the end of input waits for it. */
  private awaitFinal(id: string): Promise<void> {
    const answered = new Promise<void>((resolve) => this.waiting.set(id, resolve));
    this.due.add(answered);
    void answered.then(() => this.due.delete(answered));
    return answered;
  }

  /** The final replies still due when input ends, said once (Ctrl-C or SIGTERM stops the wait). */
  private async finalsDue(): Promise<void> {
    if (this.due.size === 0 || this.stopped) return;
    this.out(`(waiting for ${this.due.size} final answer(s) still due; Ctrl-C stops)\n`);
    // A wait may open while others are awaited (a result still to come reports progress).
    while (this.due.size > 0) await Promise.all(this.due);
  }

  /** Reading its input (until the input ends or the adapter stops). */
  connected(): boolean {
    return this.reading && !this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const resolve of this.waiting.values()) resolve();
    this.waiting.clear();
    // Ends the read loop now, not at the next line (stdin open with nothing typed would keep it waiting).
    this.rl?.close();
  }

  async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    // An approval card is the final reply of its line, yet the approved job reports on that same request later
    // (progress, then its result), after the approver's line: without a new wait, input ending there dropped the result.
    if (!isFinal(reply) && !this.stopped && !this.waiting.has(target.requestId) && target.requestId.startsWith(this.idPrefix))
      void this.awaitFinal(target.requestId);
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
    this.out(renderForTerminal(reply, lines));
  }

  /** Writes text, after the echo of the line read last if that is not out yet. */
  private out(text: string): void {
    const echo = this.echo;
    this.echo = null;
    const all = echo === null ? text : echo + text;
    if (all !== '') this.options.output.write(all);
  }
}
