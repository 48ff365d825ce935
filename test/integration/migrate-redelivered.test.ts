import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { type OperatorsStack, sendAs, startOperators, stopOperators } from '../helpers/operators.ts';
import { twoHostFleet } from '../helpers/sim.ts';

/**
 * A chat event delivered again once its /migrate has run (Telegram re-sends an update its bot did not acknowledge;
 * Discord a gateway event after a resume). The hosts receive one xl migrate either way — the job id is the request's.
 */
let s: OperatorsStack;
beforeAll(async () => {
  s = await startOperators(twoHostFleet(), new CaptureAdapter());
}, 60_000);
afterAll(async () => {
  await stopOperators(s);
});

const titles = (id: string) => s.adapter.finals(id).map((r) => (r as { title?: string }).title);

describe('/migrate delivered again after it ran', () => {
  it('while the first delivery runs: one xl migrate, one final reply', async () => {
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b/, ms: 300 });
    await Promise.all([sendAs(s, 'migrate web xen2', 'alice', 'twice-1'), sendAs(s, 'migrate web xen2', 'alice', 'twice-1')]);
    await s.adapter.finalReply('twice-1');
    expect(titles('twice-1')).toEqual(['web moved from xen1 to xen2']);
    expect(s.env.sim.hosts['xen1']?.commandLog.filter((c) => /\bmigrate\b/.test(c))).toEqual(['xl migrate web xen2']);
  });

  // Decided afresh, the redelivered event meets the state its first delivery made (the bot's cache has web on xen1
  // now) and was refused "web is already on xen1: nothing to move", a second final reply under the first.
  it('after the first delivery answered: no second final reply contradicting the first', async () => {
    await sendAs(s, 'migrate web xen1', 'alice', 'twice-2');
    await s.adapter.finalReply('twice-2');
    expect(titles('twice-2')).toEqual(['web moved from xen2 to xen1']);
    await sendAs(s, 'migrate web xen1', 'alice', 'twice-2');
    expect(s.env.sim.hosts['xen2']?.commandLog.filter((c) => /\bmigrate\b/.test(c))).toEqual(['xl migrate web xen1']);
    expect(titles('twice-2')).toEqual(['web moved from xen2 to xen1']);
  });
});
