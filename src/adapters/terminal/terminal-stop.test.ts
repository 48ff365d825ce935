import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.ts';
import type { Reply } from '../../core/reply.ts';
import type { BotCore, ReplyTarget } from '../types.ts';
import { TerminalAdapter } from './index.ts';

const config = { terminal: { defaultUser: 'alice' } } as Config;
const final = (title: string): Reply => ({ kind: 'result', tone: 'success', title, blocks: [] });
const target = (requestId: string): ReplyTarget => ({ platform: 'terminal', channelId: 'terminal', requestId, state: {} });

/** An output stream and what was written to it; `until(text)` resolves once the text has been written. */
function recorder() {
  const output = new PassThrough();
  let written = '';
  const waits: { text: string; resolve: () => void }[] = [];
  output.on('data', (d: Buffer) => {
    written += d.toString();
    for (const w of waits.filter((x) => written.includes(x.text))) w.resolve();
  });
  return {
    output,
    written: () => written,
    until: (text: string) => (written.includes(text) ? Promise.resolve() : new Promise<void>((resolve) => waits.push({ text, resolve }))),
  };
}

describe('the terminal adapter', () => {
  it('Ctrl-C on the prompt stops while a command runs, and the lines typed ahead are not run', async () => {
    // A TTY: readline is in raw mode and takes Ctrl-C itself (the process gets no SIGINT).
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const out = recorder();
    const adapter = new TerminalAdapter({ config, input, output: out.output, lineTimeoutMs: 2_000 });
    const handled: string[] = [];
    let firstHandled!: () => void;
    const first = new Promise<void>((resolve) => {
      firstHandled = resolve;
    });
    // The command never answers (a host that hangs): only Ctrl-C can end the wait.
    const core = {
      handle: async (req: { command: string }) => {
        handled.push(req.command);
        firstHandled();
      },
    } as unknown as BotCore;
    await adapter.start(core);
    input.write('/list\r/stop web\r');
    await first;
    input.write('\x03');
    await adapter.done;
    // Stopped at once: not after the line's wait ran out, and /stop web, typed ahead, never reached the core.
    expect(out.written()).not.toContain('going on');
    expect(handled).toEqual(['list']);
    expect(out.written()).toContain('^C: stopping');
    expect(adapter.connected()).toBe(false);
  });

  it('at the end of a script, waits for the answer of a line the next one stopped waiting for', async () => {
    const input = new PassThrough();
    const out = recorder();
    const adapter = new TerminalAdapter({ config, input, output: out.output, lineTimeoutMs: 50 });
    const ids: Record<string, string> = {};
    const core = {
      handle: async (req: { command: string; id: string }) => {
        ids[req.command] = req.id;
        if (req.command === 'list') await adapter.deliver(target(req.id), final('listed'));
      },
    } as unknown as BotCore;
    await adapter.start(core);
    let doneWith: string | null = null;
    void adapter.done.then(() => {
      doneWith = out.written();
    });
    input.end('/migrate web xen2\n/list\n');
    await out.until('✔ listed');
    // The migration answers later (after its line's wait ran out and after the script ended).
    await out.until('going on');
    // Nothing to await here: this shows that the end of the script did NOT end the adapter before the answer came.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(doneWith).toBeNull();
    await adapter.deliver(target(ids['migrate'] as string), final('web moved to xen2'));
    await adapter.done;
    expect(doneWith).toContain('✔ web moved to xen2');
    expect(out.written()).toContain('(no final answer for "/migrate web xen2" yet; going on)');
  });

  it('stop() ends the read loop even while the input stays open with nothing typed', async () => {
    const input = new PassThrough();
    const out = recorder();
    const adapter = new TerminalAdapter({ config, input, output: out.output });
    await adapter.start({ handle: async () => {} } as unknown as BotCore);
    await adapter.stop();
    await adapter.done;
    expect(adapter.connected()).toBe(false);
  }, 5_000);
});
