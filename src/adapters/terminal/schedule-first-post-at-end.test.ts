import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { scriptedDemo, type TestStack } from '../../../test/helpers/stack.ts';
import type { Config } from '../../config/schema.ts';
import type { Reply } from '../../core/reply.ts';
import type { BotCore, ReplyTarget } from '../types.ts';
import { TerminalAdapter } from './index.ts';

let stack: TestStack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

/**
 * `printf '%s\n' LINES | npm run demo`: the whole script written and its input ended at once. Returns what had been
 * printed when the terminal said it was done (the demo exits then).
 */
async function demoScript(script: string): Promise<string> {
  const run = await scriptedDemo(script);
  stack = run.stack;
  return run.written;
}

describe('a scripted demo that adds a schedule', () => {
  it('prints the first post an `every` schedule said comes now before it ends', async () => {
    const out = await demoScript('/schedule add status every 30m\n');
    expect(out).toContain('the first post comes now');
    expect(out).toContain('First post of this schedule');
  }, 60_000);

  it('is not held by a cron schedule, whose next run is later', async () => {
    const out = await demoScript('/schedule add status cron "0 8 * * *"\n');
    expect(out).toContain('next run');
    expect(out).not.toContain('First post of this schedule');
    expect(out).not.toContain('(waiting for');
  }, 60_000);
});

const config = { terminal: { defaultUser: 'alice' } } as Config;

/** A core whose schedule add says a post comes now, which never does (a tick that cannot be delivered). */
function promisingCore(adapter: () => TerminalAdapter): BotCore {
  const added: Reply = {
    kind: 'result',
    tone: 'success',
    title: 'Schedule S5WW8Y added',
    blocks: [],
    due: [{ key: 'first-post-S5WW8Y', what: 'the first post of schedule S5WW8Y' }],
  };
  return {
    handle: async (req: { id: string }) => {
      const target: ReplyTarget = { platform: 'terminal', channelId: 'terminal', requestId: req.id, state: {} };
      await adapter().deliver(target, added);
    },
  } as unknown as BotCore;
}

describe('the terminal at the end of a script, waiting for a post said to come now', () => {
  it('gives up after its bound, says so, and ends', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (d: Buffer) => {
      written += d.toString();
    });
    const adapter: TerminalAdapter = new TerminalAdapter({ config, input, output, dueTimeoutMs: 200 });
    await adapter.start(promisingCore(() => adapter));
    input.end('/schedule add status every 30m\n');
    await adapter.done;
    expect(written).toContain('(waiting for the first post of schedule S5WW8Y; Ctrl-C stops)');
    expect(written).toContain('(the first post of schedule S5WW8Y did not come within 0.2 s; not waiting for it)');
  }, 5_000);

  it('stops waiting at once on stop() (Ctrl-C, SIGTERM)', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    let waiting!: () => void;
    const said = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    output.on('data', (d: Buffer) => {
      written += d.toString();
      if (written.includes('(waiting for')) waiting();
    });
    const adapter: TerminalAdapter = new TerminalAdapter({ config, input, output, dueTimeoutMs: 60_000 });
    await adapter.start(promisingCore(() => adapter));
    input.end('/schedule add status every 30m\n');
    await said;
    await adapter.stop();
    await adapter.done;
    expect(written).not.toContain('did not come');
  }, 5_000);

  it('is not held by a post that came before the reply saying it comes', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (d: Buffer) => {
      written += d.toString();
    });
    const adapter: TerminalAdapter = new TerminalAdapter({ config, input, output, dueTimeoutMs: 60_000 });
    const post: Reply = { kind: 'result', tone: 'success', title: 'Fleet status', blocks: [] };
    const core = promisingCore(() => adapter);
    await adapter.start({
      handle: async (req: Parameters<BotCore['handle']>[0], target: ReplyTarget) => {
        await adapter.deliver(
          { platform: 'terminal', channelId: 'terminal', requestId: 'sched-x-1', state: {}, due: 'first-post-S5WW8Y' },
          post,
        );
        await core.handle(req, target);
      },
    } as unknown as BotCore);
    input.end('/schedule add status every 30m\n');
    await adapter.done;
    expect(written).toContain('✔ Fleet status');
    expect(written).not.toContain('(waiting for');
  }, 5_000);
});
