import { describe, expect, it } from 'vitest';
import { demoChat } from '../../test/helpers/stack.ts';

/**
 * Asking again for what already waits for approval is not asked again: a reason given only the second time is not on
 * the pending request (approvers may have read its card already), and the reply says so, with the way to give it.
 */
const chat = demoChat();
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

describe('a request merged into the one pending for it', () => {
  it('says a reason it brings is not on the pending request', async () => {
    const id = idOf(await chat.say('/stop web --force'));
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    const again = await chat.say('/stop web --force --reason "kernel upgrade"');
    expect(again).toContain(`Already waiting for approval: ${id}`);
    expect(again).toContain('“kernel upgrade” is not on it');
    expect(again).toContain(`/deny ${id}`);
    // The same reason again, or none, has nothing to say about it.
    const plain = await chat.say('/stop web --force');
    expect(plain).toContain(`Already waiting for approval: ${id}`);
    expect(plain).not.toContain('is not on it');
    await chat.say(`/deny ${id}`);
  });

  it('says a different reason is not the one on it', async () => {
    const id = idOf(await chat.say('/stop web --force --reason "disk full"'));
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    const again = await chat.say('/stop web --force --reason "kernel upgrade"');
    expect(again).toContain('“kernel upgrade” is not on it');
    expect(again).toContain('disk full');
    expect(await chat.say('/stop web --force --reason "disk full"')).not.toContain('is not on it');
    await chat.say(`/deny ${id}`);
  });
});
