import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSecret } from '../../src/core/log.ts';
import { type Conversation, conversation, startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * A secret pasted into free text typed in chat (a freeze's reason, a request's --reason, a denial's reason) is taken out
 * of the log and the audit; it must not be shown back either: a freeze's reason is on every refusal, /status and
 * card, to everyone, for as long as the freeze lasts, and a request's reason on the approvers' cards.
 */
const PASSPHRASE = 'xen-key-passphrase-4711';
const URL_PASSWORD = 'hunter2pass';

let t: TerminalStack;
let chat: Conversation;
/** What the bot answered to a line: the terminal's echo of the typed line left out. */
const answer = async (line: string) => {
  const out = await chat.say(line);
  return out.slice(out.indexOf(`> ${line}\n`) + line.length + 3);
};
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

beforeAll(async () => {
  t = await startTerminalStack();
  chat = conversation(t);
  // As the config's key passphrase is at start-up (registerConfigSecrets).
  registerSecret(PASSPHRASE);
  registerSecret(PASSPHRASE.toUpperCase());
  await chat.say('/list');
}, 60_000);

afterAll(async () => {
  t?.input.end();
  await t?.stack.stop();
});

describe('a secret pasted into a typed reason', () => {
  it('is not shown back by /freeze, by the refusals and /status that quote the freeze', async () => {
    const froze = await answer(`@alice /freeze xen2 2h oops ${PASSPHRASE} and redis://:${URL_PASSWORD}@db:6379 pasted`);
    expect(froze).toContain('Frozen: xen2');
    expect(froze).toContain('[redacted]');
    const refused = await answer('@alice /stop xen2:files');
    expect(refused).toContain('xen2 is frozen');
    const status = await answer('/status');
    expect(status).toContain('xen2 is frozen');
    // Typed where a host goes: refused, quoting what was typed.
    const bad = await answer(`@alice /freeze ${PASSPHRASE.toUpperCase()} oops`);
    expect(bad).toContain('Bad arguments for /freeze');
    expect(bad).not.toContain(PASSPHRASE.toUpperCase());
    for (const shown of [froze, refused, status]) {
      expect(shown).not.toContain(PASSPHRASE);
      expect(shown).not.toContain(URL_PASSWORD);
    }
  });

  it('is not on the approval card of a --reason, nor in a denial’s reason', async () => {
    const asked = await answer(`@alice /stop xen1:web --reason "ticket ${PASSPHRASE}"`);
    const id = idOf(asked);
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    expect(asked).toContain('reason: ticket [redacted]');
    const mark = t.output().length;
    await chat.say(`@bob /deny ${id} not with ${PASSPHRASE} in it`);
    // bob's answer, and what alice is told.
    await chat.printed(new RegExp(`Denied ${id}`), mark);
    const told = await chat.printed(/was denied by bob[^\n]*/, mark);
    expect(told).toBe('was denied by bob: not with [redacted] in it');
    // Everything printed since, but the terminal's echo of what bob typed.
    const answers = t
      .output()
      .slice(mark)
      .split('\n')
      .filter((l) => !l.startsWith('> '));
    expect(answers.join('\n')).toContain(`Denied ${id}`);
    for (const shown of [asked, ...answers]) expect(shown).not.toContain(PASSPHRASE);
  });
});
