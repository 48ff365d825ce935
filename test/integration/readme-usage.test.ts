import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conversation, conversation, startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * What the README's command list promises a new user, as the terminal demo answers it: `freeze <hosts> [until]
 * <reason>` (the until is read out of the reason's first words, so the schema alone would not show it), and
 * `schedule add|list|remove`, refused in words when the action is left out.
 */
let t: TerminalStack;
let chat: Conversation;
const say = (line: string) => chat.say(line);

beforeAll(async () => {
  t = await startTerminalStack();
  chat = conversation(t);
}, 60_000);

afterAll(async () => {
  t?.input.end();
  await t?.stack.stop();
});

describe('usage lines the README documents', () => {
  it('/help shows that /freeze takes an until, and a refused until shows the same usage', async () => {
    const help = await say('/help');
    // A usage wider than /help's usage column has its own line, its description under the column.
    expect(help).toMatch(/^\/freeze <hosts> \[<until>\] <reason>\n +Refuse mutating commands/m);
    const bad = await say('/freeze xen1 24:00 kernel upgrade');
    expect(bad).toContain(
      '✖ Bad arguments for /freeze\n24:00 is not a time of day (00:00 to 23:59)\n  | /freeze <hosts> [<until>] <reason>',
    );
    const none = await say('/freeze');
    expect(none).toContain('  | /freeze <hosts> [<until>] <reason>');
  });

  it('a past until is echoed as it was typed', async () => {
    const past = await say('/freeze xen1 2025-03-04 18:00 old');
    expect(past).toContain('2025-03-04 18:00 is in the past: a freeze must end later than now');
    expect(past).not.toContain('2025-03-04T18:00');
  });

  it('/schedule without an action says which actions there are, in words, not as a schema error', async () => {
    const bare = await say('/schedule');
    expect(bare).toContain('✖ Bad arguments for /schedule');
    expect(bare).not.toContain('Invalid option');
    expect(bare).toContain('add, list or remove');
    const wrong = await say('/schedule foo');
    expect(wrong).not.toContain('Invalid option');
    expect(wrong).toContain('add, list or remove, got "foo"');
  });
});
