import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { demoChat } from '../test/helpers/stack.ts';

/**
 * `/migrate web xen2 --reason "first"` was answered "unknown option --reason", though the README says a request shows
 * who asked and why, and /stop, /reboot, /pause, /evacuate and /rebalance take one. Its reason is on the card the
 * approver sees and in the audit of the job it ran, as a /pause's is.
 */
const chat = demoChat();
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

describe('/migrate --reason', () => {
  it('is shown on the approval card, and audited with the migration it ran', async () => {
    const asked = await chat.say('@alice /migrate web xen2 --reason "kernel upgrade on xen1"');
    expect(asked).toContain('⚠ Approval needed: /migrate xen1:web to xen2');
    expect(asked).toContain('reason: kernel upgrade on xen1');
    expect(asked).toContain('xen1$ xl migrate web xen2');
    const id = idOf(asked);
    expect(id).not.toBe('');

    const mark = chat.t.output().length;
    await chat.say(`@bob /approve ${id}`);
    await chat.printed(/✔ web moved from xen1 to xen2/, mark);

    // The job's outcome carries the arguments it was approved with: the reason among them. Audited around the reply,
    // not necessarily before it is printed.
    const outcomeArgs = () =>
      readFileSync(chat.stack.auditFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['event'] === 'job.outcome' && l['command'] === 'migrate')?.['args'];
    await expect.poll(outcomeArgs).toEqual(expect.stringContaining('kernel upgrade on xen1'));
  });

  it('is optional: without one the card has no reason line', async () => {
    const asked = await chat.say('@alice /migrate gateway xen2');
    expect(asked).toContain('⚠ Approval needed: /migrate xen1:gateway to xen2');
    expect(asked).not.toContain('reason:');
  });
});
