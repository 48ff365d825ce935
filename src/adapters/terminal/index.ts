import { randomBytes } from 'node:crypto';
import { clearScreenDown, createInterface, cursorTo, type Interface, moveCursor } from 'node:readline';
import type { Config } from '../../config/schema.ts';
import { echoValue } from '../../core/args.ts';
import { showControls } from '../../core/control-chars.ts';
import { type DueDelivery, isFinal, type Reply, reply } from '../../core/reply.ts';
import { DeliveryFailure } from '../delivery-failure.ts';
import type { BotCore, ChatAdapter, ReplyTarget } from '../types.ts';
import { DEFAULT_ATTACHMENTS_DIR, saveAttachments } from './attachments.ts';
import { renderForTerminal } from './render.ts';
import { readTerminalLine } from './to-request.ts';

/** How long a post said to come now is waited for (TerminalAdapterOptions.dueTimeoutMs). */
const DUE_TIMEOUT_MS = 120_000;

/** A post a reply said comes now, until it comes. */
interface DuePost {
  what: string;
  /** Its bound ran out. */
  late: boolean;
  settled: Promise<'came' | 'late' | 'stopped'>;
  settle: (how: 'came' | 'late' | 'stopped') => void;
}

/** The channel of the lines typed here; every other channel's messages are labelled with theirs. */
const OWN_CHANNEL = 'terminal';

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
  /** A terminal's (`isTTY`) `columns` are the width tables are fitted to. */
  output: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** How long one line may wait for its final reply before the next line goes on. */
  lineTimeoutMs?: number;
  /**
   * How long, from when a reply said it comes now (Reply.due), a post is waited for once input ends; default 120 s.
   * Bounded, unlike a line's own answer: nothing this terminal asked is behind it, and a post that cannot be delivered
   * (its tick dropped) would hold the end of a script for good.
   */
  dueTimeoutMs?: number;
  /**
   * Where attachments (charts, full `xl info`, whole console snapshots…) are written, relative to the working
   * directory unless absolute; default `var/attachments`. The reply shows each one's path.
   */
  attachmentsDir?: string;
}

/**
 * The terminal chat: a prompt on a TTY; otherwise one message per line, handled in order (each to its final
 * reply before the next line is read), and `done` resolves after the last reply once input ends — also the reply
 * of a line the next one no longer waited for (lineTimeoutMs), and a post a reply said comes now (Reply.due, for
 * dueTimeoutMs at most). Ctrl-C on the prompt stops at once: the lines typed ahead are not run.
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
  /**
   * Posts a reply to this terminal's lines said come now (Reply.due), by key, until they come: the end of input waits
   * for them too. `settled` says how the wait ended: the post came, its bound ran out, or stop().
   */
  private readonly coming = new Map<string, DuePost>();
  /** Keys of the due posts that came, for a post quicker than the reply saying it comes. */
  private readonly came = new Set<string>();
  private rl: Interface | null = null;
  private closed = false;
  /**
   * The line just read, as echoed: written with the first output after it, or once the task that read it is over,
   * whichever comes first. Written at once, its write (a system call) came before the request's own Redis write, on
   * every command's critical path; output stays in order either way.
   */
  private echo: string | null = null;
  private readonly flushEcho = () => this.out('');
  /** Input and output are a terminal readline draws on: output goes above the prompt and the line being typed. */
  private redraws = false;
  /** The prompt is on the screen (drawn, and its line not entered yet). */
  private promptShown = false;
  /** Per line entered and not handled yet: whether it was typed at the prompt (on screen already, so not echoed). */
  private readonly typedAtPrompt: boolean[] = [];

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
    this.redraws = tty && process.env['TERM'] !== 'dumb';
    rl.on('close', () => {
      this.closed = true;
      // Ctrl-D on the prompt: what follows (the answers still due, the shell's prompt) starts on a line of its own.
      if (tty && this.promptShown) this.options.output.write('\n');
      this.promptShown = false;
    });
    if (tty)
      rl.on('line', () => {
        // Enter took the cursor off the prompt; what is typed from now until the next prompt shows without one.
        this.typedAtPrompt.push(this.promptShown);
        this.promptShown = false;
        rl.setPrompt('');
      });
    // On a TTY readline takes Ctrl-C (raw mode: no SIGINT reaches the process) and, unheard, only closes its input:
    // the command running would be waited for, then the lines typed ahead run. Ctrl-C means stop, now.
    rl.on('SIGINT', () => {
      this.promptShown = false;
      this.options.output.write('^C: stopping\n');
      void this.stop();
    });
    if (tty) {
      this.options.output.write(
        `xenops terminal: you are ${this.options.config.terminal.defaultUser}${this.options.config.terminal.speakAs ? '; "@bob /list" speaks as bob' : ''}; /help lists commands; Ctrl-D quits\n`,
      );
      this.prompt();
    }
    this.reading = true;
    const run = async () => {
      for await (const line of rl) {
        if (this.stopped) break;
        // A line typed at the prompt is on the screen already; one typed ahead (while a command ran) is echoed.
        await this.handleLine(core, line, tty && this.typedAtPrompt.shift() === true);
        if (tty && !this.closed) this.prompt();
      }
      this.reading = false;
      // A script's last replies are part of it: the answers still due (lines timed out) are waited for too, and the
      // posts its replies said come now (a new schedule's first one).
      await this.finalsDue();
      await this.postsDue();
      this.resolveDone();
    };
    void run();
  }

  /** Draws the prompt, with what is typed ahead so far (the cursor where it was). */
  private prompt(): void {
    const rl = this.rl;
    if (!rl) return;
    rl.setPrompt('xenops> ');
    rl.prompt(true);
    this.promptShown = true;
  }

  private async handleLine(core: BotCore, line: string, shown = false): Promise<void> {
    const id = `${this.idPrefix}${++this.counter}`;
    const { defaultUser, speakAs } = this.options.config.terminal;
    const read = readTerminalLine(line, defaultUser, id, Date.now(), speakAs);
    if (read.kind === 'nothing') return;
    if (!shown) {
      this.echo = `> ${echoOf(line.trim())}\n`;
      setImmediate(this.flushEcho);
    }
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
    await core.handle(req, { platform: 'terminal', channelId: OWN_CHANNEL, requestId: id, state: {} });
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

  /** A post a reply said comes now: waited for at the end of input, for dueTimeoutMs from now at most. */
  private expectPost(d: DueDelivery): void {
    if (this.stopped || this.came.has(d.key) || this.coming.has(d.key)) return;
    let settle!: DuePost['settle'];
    const settled = new Promise<'came' | 'late' | 'stopped'>((resolve) => {
      settle = resolve;
    });
    const post: DuePost = { what: d.what, late: false, settled, settle };
    const bound = setTimeout(() => {
      post.late = true;
      settle('late');
    }, this.options.dueTimeoutMs ?? DUE_TIMEOUT_MS);
    // Alone it keeps nothing running: a bot stopped meanwhile exits at once.
    bound.unref();
    void settled.then(() => clearTimeout(bound));
    this.coming.set(d.key, post);
  }

  /** The posts said to come now that have not come when input ends, each until its bound (Ctrl-C stops the wait). */
  private async postsDue(): Promise<void> {
    const open = [...this.coming.values()];
    if (open.length === 0 || this.stopped) return;
    const waiting = open.filter((p) => !p.late).map((p) => p.what);
    if (waiting.length > 0) this.out(`(waiting for ${waiting.join(', ')}; Ctrl-C stops)\n`);
    for (const post of open)
      if ((await post.settled) === 'late')
        this.out(`(${post.what} did not come within ${(this.options.dueTimeoutMs ?? DUE_TIMEOUT_MS) / 1000} s; not waiting for it)\n`);
  }

  /** Reading its input (until the input ends or the adapter stops). */
  connected(): boolean {
    return this.reading && !this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const resolve of this.waiting.values()) resolve();
    this.waiting.clear();
    for (const post of this.coming.values()) post.settle('stopped');
    // Ends the read loop now, not at the next line (stdin open with nothing typed would keep it waiting).
    this.rl?.close();
  }

  async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    // An approval card is the final reply of its line, yet the approved job reports on that same request later
    // (progress, then its result), after the approver's line: without a new wait, input ending there dropped the result.
    if (!isFinal(reply) && !this.stopped && !this.waiting.has(target.requestId) && target.requestId.startsWith(this.idPrefix))
      void this.awaitFinal(target.requestId);
    // The text is printed last, after the attachments are saved: a failure printed nothing, and may be tried again.
    await this.write(reply, target.channelId).catch((e: unknown) => Promise.reject(new DeliveryFailure('retry', e)));
    // Only what this terminal's own lines were told comes: it prints every channel's posts, awaited or not.
    if (reply.due && target.requestId.startsWith(this.idPrefix)) for (const d of reply.due) this.expectPost(d);
    if (isFinal(reply)) {
      this.waiting.get(target.requestId)?.();
      this.waiting.delete(target.requestId);
      if (target.due !== undefined) this.cameNow(target.due);
    }
    return target;
  }

  /** A due post printed: its wait ends (printed first, so the end of input comes after it). */
  private cameNow(key: string): void {
    this.came.add(key);
    this.coming.get(key)?.settle('came');
    this.coming.delete(key);
  }

  async post(channelId: string, reply: Reply): Promise<ReplyTarget> {
    await this.write(reply, channelId);
    return { platform: 'terminal', channelId, requestId: `post-${Date.now()}`, state: {} };
  }

  /** The reply as text; its attachments saved to files first, so the text can say where they are. */
  private async write(reply: Reply, channelId: string): Promise<void> {
    const attachments = reply.attachments ?? [];
    const lines = attachments.length
      ? await saveAttachments(
          this.options.attachmentsDir ?? this.options.config.terminal.attachmentsDir ?? DEFAULT_ATTACHMENTS_DIR,
          attachments,
        )
      : undefined;
    // One terminal prints every terminal channel's messages (a schedule's posts to `ops`, alerts): unlabelled, one
    // printed between a line and its answer reads as that answer.
    const label = channelId === OWN_CHANNEL ? '' : `[to terminal:${showControls(channelId)}]\n`;
    this.out(label + renderForTerminal(reply, lines, this.width()));
  }

  /** The terminal's width, read at each reply (it may have been resized); none when the output is a pipe or a file. */
  private width(): number | undefined {
    const { isTTY, columns } = this.options.output;
    return isTTY === true && typeof columns === 'number' && columns > 0 ? columns : undefined;
  }

  /**
   * Writes text, after the echo of the line read last if that is not out yet. On a terminal it goes above the prompt
   * and the line being typed, which are drawn again below it: an alert or a result arriving while someone types
   * must not land in the middle of their line.
   */
  private out(text: string): void {
    const echo = this.echo;
    this.echo = null;
    const all = echo === null ? text : echo + text;
    if (all === '') return;
    const output = this.options.output;
    const rl = this.rl;
    if (rl === null || this.closed || (!this.promptShown && rl.line === '')) {
      output.write(all);
      return;
    }
    if (!this.redraws) {
      // TERM=dumb: no cursor moves; at least not on the prompt's line.
      output.write(this.promptShown ? `\n${all}` : all);
      this.promptShown = false;
      return;
    }
    // Up to the prompt's first row, erased from there down; then the text, and the prompt and the typed line again.
    moveCursor(output, 0, -rl.getCursorPos().rows);
    cursorTo(output, 0);
    clearScreenDown(output);
    output.write(all.endsWith('\n') ? all : `${all}\n`);
    // prompt() first goes up the rows readline last counted the cursor below the prompt's first row (its prevRows,
    // behind after a paste that wrapped): so many new lines, and the prompt lands right below the text.
    const counted = (rl as unknown as { prevRows?: number }).prevRows ?? 0;
    if (counted > 0) output.write('\n'.repeat(counted));
    rl.prompt(true);
  }
}
