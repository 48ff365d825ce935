import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { screen } from '../../../test/helpers/vt-screen.ts';
import type { Config } from '../../config/schema.ts';
import { type Reply, reply } from '../../core/reply.ts';
import type { BotCore, ReplyTarget } from '../types.ts';
import { TerminalAdapter } from './index.ts';

const config = { terminal: { defaultUser: 'alice' } } as Config;
const target = (requestId: string): ReplyTarget => ({ platform: 'terminal', channelId: 'terminal', requestId, state: {} });
const progress = (title: string): Reply => ({ kind: 'progress', tone: 'progress', title, blocks: [] });

/** The adapter on a TTY 80 columns wide, as `npm run demo` runs it at a terminal; `screen()` is what the person sees. */
function atTerminal(core: (adapter: TerminalAdapter) => BotCore, lineTimeoutMs?: number) {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
  let written = '';
  const waits: { test: () => boolean; resolve: () => void }[] = [];
  output.on('data', (d: Buffer) => {
    written += d.toString();
    for (const w of waits.filter((x) => x.test())) w.resolve();
  });
  const adapter = new TerminalAdapter({ config, input, output, ...(lineTimeoutMs ? { lineTimeoutMs } : {}) });
  const until = (test: () => boolean) =>
    new Promise<void>((resolve) => {
      if (test()) resolve();
      else waits.push({ test, resolve });
    });
  return {
    adapter,
    start: () => adapter.start(core(adapter)),
    type: (keys: string) => input.write(keys),
    screen: () => screen(written),
    /** Resolves once the screen shows a row equal to `row`. */
    shows: (row: string) => until(() => screen(written).includes(row)),
    /** Resolves once `text` has been written, wherever it shows. */
    printed: (text: string) => until(() => written.includes(text)),
  };
}

const listCore = (adapter: TerminalAdapter) =>
  ({
    handle: async (req: { id: string; command: string; args: { text: string } }) => {
      await adapter.deliver(target(req.id), reply.result(`${req.command} ${req.args.text}`, [reply.text('answered')]));
    },
  }) as unknown as BotCore;

describe('the terminal adapter on a TTY', () => {
  it('prints a post (an alert) that arrives while a line is half typed above the prompt, and keeps the typed text', async () => {
    const t = atTerminal(listCore);
    await t.start();
    t.type('/li');
    await t.shows('xenops> /li');
    await t.adapter.post('terminal', reply.result('web crashed on xen1', [reply.text('restarted by xenops')], { tone: 'warning' }));
    expect(t.screen()).toEqual([
      'xenops terminal: you are alice; /help lists commands; Ctrl-D quits',
      '⚠ web crashed on xen1',
      'restarted by xenops',
      'xenops> /li',
    ]);
    // The rest of the line, typed after the post: one command, shown once, answered below it.
    t.type('st xen2\r');
    await t.printed('✔ list xen2');
    await t.shows('xenops>');
    expect(t.screen()).toEqual([
      'xenops terminal: you are alice; /help lists commands; Ctrl-D quits',
      '⚠ web crashed on xen1',
      'restarted by xenops',
      'xenops> /list xen2',
      '✔ list xen2',
      'answered',
      'xenops>',
    ]);
    t.type('\x04');
    await t.adapter.done;
  });

  it('keeps a typed line longer than the terminal whole below a post', async () => {
    const t = atTerminal(listCore);
    await t.start();
    const long = `/stop web --reason "${'x'.repeat(150)}`;
    t.type(long);
    await t.printed('x'.repeat(150));
    await t.adapter.post('terminal', reply.result('web crashed on xen1', [], { tone: 'warning' }));
    await t.adapter.post('terminal', reply.result('files crashed on xen2', [], { tone: 'warning' }));
    const typed = `xenops> ${long}`;
    expect(t.screen()).toEqual([
      'xenops terminal: you are alice; /help lists commands; Ctrl-D quits',
      '⚠ web crashed on xen1',
      '⚠ files crashed on xen2',
      typed.slice(0, 80),
      typed.slice(80, 160),
      typed.slice(160),
    ]);
    t.type('"\r');
    await t.printed('✔ stop web --reason');
    t.type('\x04');
    await t.adapter.done;
  });

  it('does not echo a line typed at the prompt a second time', async () => {
    const t = atTerminal(listCore);
    await t.start();
    t.type('/whoami\r');
    await t.printed('✔ whoami');
    await t.shows('xenops>');
    expect(t.screen()).toEqual([
      'xenops terminal: you are alice; /help lists commands; Ctrl-D quits',
      'xenops> /whoami',
      '✔ whoami',
      'answered',
      'xenops>',
    ]);
    t.type('\x04');
    await t.adapter.done;
  });

  it('shows which line an answer is for when the line was typed ahead while another command ran', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const t = atTerminal(
      (adapter) =>
        ({
          handle: async (req: { id: string; command: string }) => {
            if (req.command === 'status') await held;
            await adapter.deliver(target(req.id), reply.result(`${req.command} done`));
          },
        }) as unknown as BotCore,
    );
    await t.start();
    t.type('/status\r');
    await t.shows('xenops> /status');
    t.type('/whoami\r/li');
    await t.printed('/li');
    release();
    await t.printed('✔ whoami done');
    await t.shows('xenops> /li');
    expect(t.screen()).toEqual([
      'xenops terminal: you are alice; /help lists commands; Ctrl-D quits',
      'xenops> /status',
      '/whoami',
      '✔ status done',
      '> /whoami',
      '✔ whoami done',
      'xenops> /li',
    ]);
    // Ctrl-U empties the line; Ctrl-D on an empty line quits.
    t.type('\x15\x04');
    await t.adapter.done;
  });

  it('Ctrl-D while an answer is still due: the wait is said on its own line, not after the prompt', async () => {
    const ids: string[] = [];
    const t = atTerminal(
      (adapter) =>
        ({
          handle: async (req: { id: string }) => {
            ids.push(req.id);
            await adapter.deliver(target(req.id), progress('Stopping'));
          },
        }) as unknown as BotCore,
      50,
    );
    await t.start();
    t.type('/stop web\r');
    await t.printed('(no final answer for "/stop web" yet; going on)');
    await t.shows('xenops>');
    t.type('\x04');
    await t.printed('(waiting for 1 final answer(s) still due; Ctrl-C stops)');
    await t.adapter.deliver(target(ids[0] as string), reply.result('web shut down on xen1'));
    await t.adapter.done;
    expect(t.screen()).toEqual([
      'xenops terminal: you are alice; /help lists commands; Ctrl-D quits',
      'xenops> /stop web',
      '… Stopping',
      '(no final answer for "/stop web" yet; going on)',
      'xenops>',
      '(waiting for 1 final answer(s) still due; Ctrl-C stops)',
      '✔ web shut down on xen1',
      '',
    ]);
  });
});
