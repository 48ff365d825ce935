import type { BotCore, ChatAdapter, ReplyTarget } from '../../src/adapters/types.ts';
import type { Platform } from '../../src/config/schema.ts';
import { isFinal, type Reply } from '../../src/core/reply.ts';

/** A ChatAdapter (our own interface) that records what the bot delivers, for pipeline tests. */
export class CaptureAdapter implements ChatAdapter {
  constructor(readonly platform: Platform = 'terminal') {}

  readonly delivered: { target: ReplyTarget; reply: Reply }[] = [];
  core: BotCore | null = null;
  private readonly waiters: { requestId: string; resolve: (r: Reply) => void }[] = [];
  private readonly listeners = new Set<() => void>();

  /** Resolves once `check` holds, re-checked after every delivery; rejects after timeoutMs with `what`. */
  until(check: () => boolean, timeoutMs: number, what = 'the expected deliveries'): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const listener = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  async start(core: BotCore): Promise<void> {
    this.core = core;
  }
  async stop(): Promise<void> {}
  async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    this.delivered.push({ target, reply });
    if (isFinal(reply)) {
      for (const w of this.waiters.filter((x) => x.requestId === target.requestId)) w.resolve(reply);
    }
    this.notify();
    return { ...target, state: { ...target.state, deliveries: Number(target.state['deliveries'] ?? 0) + 1 } };
  }
  async post(channelId: string, reply: Reply): Promise<ReplyTarget> {
    const target = { platform: this.platform, channelId, requestId: 'post', state: {} };
    this.delivered.push({ target, reply });
    this.notify();
    return target;
  }
  /** Final replies delivered for a request (a true count: exactly-once is asserted on it). */
  finals(requestId: string): Reply[] {
    return this.delivered.filter((d) => d.target.requestId === requestId && isFinal(d.reply)).map((d) => d.reply);
  }
  /** Resolves with the request's final reply (already delivered or still to come). */
  finalReply(requestId: string): Promise<Reply> {
    const done = this.delivered.find((d) => d.target.requestId === requestId && isFinal(d.reply));
    if (done) return Promise.resolve(done.reply);
    return new Promise((resolve) => this.waiters.push({ requestId, resolve }));
  }
}

/**
 * A CaptureAdapter whose first "queued" line (a request's first progress reply) is held until `release()`, as a chat
 * platform slow (or hung) to take it: `holding` says it is held now, `held` resolves once one is, and `overtaken`
 * records any delivery asked for while it was held (nothing may overtake it).
 */
export class HeldQueuedReply extends CaptureAdapter {
  holding = false;
  overtaken = false;
  release: () => void = () => {};
  private readonly gate = new Promise<void>((r) => {
    this.release = r;
  });
  private entered: () => void = () => {};
  readonly held = new Promise<void>((r) => {
    this.entered = r;
  });

  override async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    if (this.holding) this.overtaken = true;
    if (reply.kind === 'progress' && !this.delivered.some((d) => d.target.requestId === target.requestId)) {
      this.holding = true;
      this.entered();
      await this.gate;
      this.holding = false;
    }
    return super.deliver(target, reply);
  }
}
