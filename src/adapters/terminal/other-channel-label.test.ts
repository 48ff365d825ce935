import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.ts';
import { reply } from '../../core/reply.ts';
import { TerminalAdapter } from './index.ts';

/**
 * The terminal prints every terminal channel's messages: a schedule's post to `ops`, an alert to `alerts`. Unlabelled,
 * one printed between a line and its answer read as that line's answer (a demo pass: a status post landed between
 * `@bob /schedule add …` and bob's refusal). A message for another channel says which.
 */
const config = { terminal: { defaultUser: 'alice' } } as Config;

function adapter() {
  const output = new PassThrough();
  let written = '';
  output.on('data', (d: Buffer) => {
    written += d.toString();
  });
  return { terminal: new TerminalAdapter({ config, input: new PassThrough(), output }), written: () => written };
}

describe("the terminal's messages for other channels", () => {
  it('a post or a reply to another channel starts with the channel it is for; the terminal’s own are bare', async () => {
    const t = adapter();
    await t.terminal.post('ops', reply.result('Fleet status'));
    await t.terminal.deliver({ platform: 'terminal', channelId: 'alerts', requestId: 'a1', state: {} }, reply.result('web crashed'));
    await t.terminal.deliver({ platform: 'terminal', channelId: 'terminal', requestId: 'r1', state: {} }, reply.result('Domains'));
    expect(t.written()).toBe('[to terminal:ops]\n✔ Fleet status\n[to terminal:alerts]\n✔ web crashed\n✔ Domains\n');
  });
});
