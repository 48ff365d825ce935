import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.ts';
import type { Reply } from '../../core/reply.ts';
import type { BotCore, ReplyTarget } from '../types.ts';
import { TerminalAdapter } from './index.ts';

const config = { terminal: { defaultUser: 'alice', speakAs: true } } as Config;
const result = (title: string): Reply => ({ kind: 'result', tone: 'success', title, blocks: [] });
const progress = (title: string): Reply => ({ kind: 'progress', tone: 'progress', title, blocks: [] });
const target = (requestId: string): ReplyTarget => ({ platform: 'terminal', channelId: 'terminal', requestId, state: {} });

describe('the terminal adapter at the end of a script with an approval in it', () => {
  it('waits for the result of a request approved by a later line, which its approval card had already answered', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (d: Buffer) => {
      written += d.toString();
    });
    const adapter = new TerminalAdapter({ config, input, output, lineTimeoutMs: 5_000 });
    const ids: Record<string, string> = {};
    // As the approval desk does: the request's card is its answer; the approval puts the job's progress on that card
    // before the approver's own answer, and the job's result comes on it later.
    const core = {
      handle: async (req: { command: string; id: string }) => {
        ids[req.command] = req.id;
        if (req.command === 'stop') await adapter.deliver(target(req.id), result('Approval needed: /stop xen1:web — K7Q2XM'));
        if (req.command === 'approve') {
          await adapter.deliver(target(ids['stop'] as string), progress('/stop xen1:web approved by bob; running now'));
          await adapter.deliver(target(req.id), result('Approved K7Q2XM'));
        }
      },
    } as unknown as BotCore;
    await adapter.start(core);
    let ended = false;
    void adapter.done.then(() => {
      ended = true;
    });
    input.end('/stop web\n@bob /approve K7Q2XM\n');
    await expect.poll(() => written).toContain('✔ Approved K7Q2XM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ended).toBe(false);
    await adapter.deliver(target(ids['stop'] as string), result('web shut down on xen1'));
    await adapter.done;
    expect(written).toContain('✔ web shut down on xen1');
    expect(written).toContain('(waiting for 1 final answer(s) still due; Ctrl-C stops)');
  });

  it('does not wait on a progress edit of something this terminal did not ask (a post)', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const adapter = new TerminalAdapter({ config, input, output });
    await adapter.start({ handle: async () => {} } as unknown as BotCore);
    const posted = await adapter.post('terminal', result('Fleet status'));
    await adapter.deliver(posted, progress('refreshing'));
    input.end();
    await adapter.done;
  }, 5_000);
});
