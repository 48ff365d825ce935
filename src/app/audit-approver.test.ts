import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { demoChat } from '../../test/helpers/stack.ts';
import { verifyAuditFile } from './audit.ts';

/**
 * An approval decision is recorded with who decided it (`by`), beside whose request it was (`person`): /audit person:
 * finds it under either, and its row says the approver did it, for the requester, with the command and target.
 */
const chat = demoChat();
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';
const entries = () =>
  readFileSync(chat.stack.auditFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('an approval in the audit', () => {
  it('names its approver (and one refused) in a sealed field that /audit person: matches', async () => {
    const id = idOf(await chat.say('@alice /stop web'));
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    expect(await chat.say(`@carol /approve ${id}`)).toContain('Not allowed');
    await chat.say(`@bob /approve ${id}`);
    const approval = (decision: string) => (e: Record<string, unknown>) =>
      e['event'] === 'approval' &&
      e['decision'] === decision &&
      String(e['detail']).startsWith(decision === 'allowed' ? 'approve' : 'approve');
    await expect.poll(() => entries().filter(approval('allowed')).length).toBe(1);
    expect(entries().find(approval('allowed'))).toMatchObject({ person: 'alice', by: 'bob', command: 'stop', host: 'xen1', domain: 'web' });
    expect(entries().find(approval('rejected'))).toMatchObject({
      person: 'alice',
      by: 'carol',
      command: 'stop',
      host: 'xen1',
      domain: 'web',
    });

    const bobs = await chat.say('/audit person:bob');
    // His approval: he is who did it, for alice, on stop xen1:web.
    expect(bobs).toMatch(/approval +bob +stop +xen1:web .*for alice/);
    const carols = await chat.say('/audit person:carol');
    expect(carols).toMatch(/approval +carol +stop +xen1:web .*for alice/);
    // Alice's own request still lists under her.
    expect(await chat.say('/audit person:alice command:stop')).toMatch(/request +alice +stop/);

    // The new field is in the chain: the file verifies whole, and changing it is caught.
    const report = await verifyAuditFile(chat.stack.auditFile);
    expect(report.broken).toBeNull();
    expect(report.entries).toBe(entries().length);
  });
});
