import { describe, expect, it } from 'vitest';
import { demoChat } from '../helpers/stack.ts';

/**
 * In the terminal demo bob is on call. When bob asks for something that needs approval, he cannot approve it himself:
 * the card says only approval.grant holders may (alice), and a refused approver is told the same, never sent to bob.
 */
const chat = demoChat();
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

describe('a refused approver, the request being the on-call person’s own', () => {
  it('GIVEN @bob /evacuate xen1 WHEN @carol /approve THEN the refusal names alice, as the card does, and says bob asked for it', async () => {
    const asked = await chat.say('@bob /evacuate xen1');
    const id = idOf(asked);
    expect(id).not.toBe('');
    expect(asked).toContain('approvers: nobody on call may approve this; approval.grant: alice');
    const carol = await chat.say(`@carol /approve ${id}`);
    expect(carol).toContain(
      '✖ Not allowed\nonly someone with approval.grant (alice) may approve this: the person on call (bob) asked for it',
    );
    expect(await chat.say(`@bob /deny ${id}`)).toContain('was withdrawn by bob\nnothing ran');
  }, 30_000);
});
