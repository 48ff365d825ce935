import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.ts';
import { reply } from '../../core/reply.ts';
import type { BotCore } from '../types.ts';
import { TerminalAdapter } from './index.ts';

/**
 * A request asked of the bot before it restarted (another terminal session: its id is not this session's) is answered
 * by the restarted bot (see Relay.adoptIfOrphan): its result must print here, and no line typed here waits for it.
 */
const config = { terminal: { defaultUser: 'alice' } } as Config;

describe("a reply to a request of the bot's session before a restart", () => {
  it('prints while this session reads its input, and the end of input does not wait for it', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (d: Buffer) => {
      written += d.toString();
    });
    const terminal = new TerminalAdapter({ config, input, output });
    await terminal.start({ handle: async () => {} } as unknown as BotCore);
    const old = { platform: 'terminal' as const, channelId: 'terminal', requestId: 'tdeadbeef-3', state: {} };
    await terminal.deliver(old, reply.progress('/stop', 'the agent is shutting files down'));
    await terminal.deliver(
      old,
      reply.result('files shut down on xen2', [
        reply.text('Asked by bob (/stop) of the bot before it restarted; this is what came of it.'),
      ]),
    );
    expect(written).toBe(
      '… /stop\nthe agent is shutting files down\n✔ files shut down on xen2\nAsked by bob (/stop) of the bot before it restarted; this is what came of it.\n',
    );
    input.end();
    await terminal.done;
  });
});
