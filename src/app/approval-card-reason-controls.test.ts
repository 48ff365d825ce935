import { describe, expect, it } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';

/**
 * A reason typed in chat is shown on every platform's approval card, and only the terminal escaped its control
 * characters (a review): on Discord and Telegram a right-to-left override made "a\u202egnihctap" read "apatching…",
 * the card saying what the requester did not write. /freeze refuses such a reason; the cards show them escaped.
 */
const { makeDesk, askStop, store } = approvalDeskScene();

describe("an approval card's reason", () => {
  it('is shown with its control characters escaped, on the card and on the denial', async () => {
    const scene = await makeDesk();
    const id = await askStop(scene.desk, 'req-reason-controls', { reason: 'a\u202egnihctap\u001b[2J' });
    const card = scene.delivered.find((d) => d.reply.title.startsWith('Approval needed'))?.reply;
    const fields = JSON.stringify(card);
    expect(fields).toContain('a\\\\u202egnihctap\\\\x1b[2J');
    expect(fields).not.toContain('\u202e');
    await scene.desk.deny(id, { id: 'bob', displayName: 'bob', roles: ['operator'] }, 'no\u202e');
    expect(JSON.stringify(scene.delivered.at(-1)?.reply)).toContain('no\\\\u202e');
    expect((await store.get(id))?.status).toBe('denied');
  });
});
