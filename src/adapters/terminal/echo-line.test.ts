import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.ts';
import type { Reply } from '../../core/reply.ts';
import type { BotCore, ReplyTarget } from '../types.ts';
import { TerminalAdapter } from './index.ts';

const config = { terminal: { defaultUser: 'alice' } } as Config;
const refused: Reply = { kind: 'error', tone: 'error', title: 'Bad arguments', blocks: [] };
const target = (requestId: string): ReplyTarget => ({ platform: 'terminal', channelId: 'terminal', requestId, state: {} });

/** What the terminal prints for a script, every line refused at once. */
async function transcript(script: string): Promise<string> {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.on('data', (d: Buffer) => {
    written += d.toString();
  });
  const adapter = new TerminalAdapter({ config, input, output });
  await adapter.start({
    handle: async (req: { id: string }) => {
      await adapter.deliver(target(req.id), refused);
    },
  } as unknown as BotCore);
  input.end(script);
  await adapter.done;
  return written;
}

describe('the echo of a line read from a script', () => {
  it('shows the control characters of a pasted line instead of sending them to the terminal', async () => {
    // An OSC sequence retitles the window (OSC 52 would write the clipboard); CSI recolours what follows.
    const written = await transcript('/stop web --reason "a\x1b]0;pwned\x07b" \x1b[31mred\n');
    expect(written).not.toContain('\x1b');
    expect(written).not.toContain('\x07');
    expect(written).toContain('> /stop web --reason "a\\x1b]0;pwned\\x07b" \\x1b[31mred\n');
  });

  it('cuts a line pasted whole (a log, a file) and says how long it was', async () => {
    const long = `/show ${'x'.repeat(200_000)}`;
    const written = await transcript(`${long}\n/list\n`);
    const [echo] = written.split('\n');
    expect(echo?.length).toBeLessThan(1_000);
    expect(echo).toMatch(/^> \/show x+… \(200006 characters\)$/);
    expect(written).toContain('\n> /list\n');
  });
});
