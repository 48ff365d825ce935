import { describe, expect, it } from 'vitest';
import { freezeDesk } from '../test/helpers/freeze-desk.ts';

/**
 * `/freeze xen1 patching for 2h` froze xen1 until /unfreeze under the reason "patching for 2h": the time, said last as
 * one says it, was read as the reason's end and the freeze never ended. A reason that ends in a time /freeze takes is
 * refused with the line as it should be typed; a reason that merely holds a number is a reason.
 */
const { calls, run } = freezeDesk('UTC', ['xen1', 'xen2']);

describe('/freeze with the time typed after the reason', () => {
  it.each([
    ['xen1', 'patching for 2h', 'the time goes before the reason: /freeze xen1 2h patching'],
    ['xen1', 'patching 2h', 'the time goes before the reason: /freeze xen1 2h patching'],
    ['xen1', 'kernel upgrade until 18:00', 'the time goes before the reason: /freeze xen1 18:00 kernel upgrade'],
    ['xen1', 'storage till tomorrow 09:00', 'the time goes before the reason: /freeze xen1 tomorrow 09:00 storage'],
    ['xen1', 'storage tomorrow 09:00', 'the time goes before the reason: /freeze xen1 tomorrow 09:00 storage'],
    ['xen1,xen2', 'rack move for 1h30m', 'the time goes before the reason: /freeze xen1,xen2 1h30m rack move'],
    ['all', 'swap 2027-01-05 9:00', 'the time goes before the reason: /freeze all 2027-01-05 9:00 swap'],
  ])('"/freeze %s %s" is refused, and nothing is frozen', async (hosts, reason, said) => {
    const r = await run(hosts, reason);
    expect(calls).toEqual([]);
    expect(r.kind).toBe('error');
    expect(JSON.stringify(r)).toContain(said);
  });

  it('a reason that merely holds a number, or ends in one that is no time, is a freeze until /unfreeze', async () => {
    for (const reason of ['replace disk 2', 'kernel 6.1 upgrade', 'kernel upgrade to 6.1', 'wait for 2 hours', 'for the storage swap'])
      await run('xen1', reason);
    expect(calls.map((c) => [c.until, c.reason])).toEqual([
      [null, 'replace disk 2'],
      [null, 'kernel 6.1 upgrade'],
      [null, 'kernel upgrade to 6.1'],
      [null, 'wait for 2 hours'],
      [null, 'for the storage swap'],
    ]);
  });

  it('the time typed first still freezes until it, whatever the reason ends in', async () => {
    await run('xen1', '2h patching');
    await run('xen1', 'for 2h patching');
    expect(calls.map((c) => [c.until?.toISOString(), c.reason])).toEqual([
      ['2026-12-07T12:00:00.000Z', 'patching'],
      ['2026-12-07T12:00:00.000Z', 'patching'],
    ]);
  });
});
