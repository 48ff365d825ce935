import { describe, expect, it } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';

const { person, makeDesk, askStop } = approvalDeskScene();

describe("a /deny's reason in the audit", () => {
  it('the requester withdrawing their own request: kept, as a denial by someone else keeps its reason', async () => {
    const { desk, audited, delivered } = await makeDesk();
    const withdrawn = await askStop(desk, 'req-withdraw-reason-1');
    await desk.deny(withdrawn, person('alice'), 'changed my mind --force');
    const denied = await askStop(desk, 'req-withdraw-reason-2');
    await desk.deny(denied, person('bob'), 'use graceful stop');
    desk.stop();
    const rejected = audited.filter((e) => e.event === 'approval' && e.decision === 'rejected').map((e) => e.detail);
    expect(rejected).toEqual([`${withdrawn} withdrawn by alice: changed my mind --force`, `${denied} denied by bob: use graceful stop`]);
    // The chat said the same.
    expect(delivered.map((d) => d.reply.title)).toContain('/stop xen1:web was withdrawn by alice: changed my mind --force');
  });

  it('withdrawn with no reason: none is made up', async () => {
    const { desk, audited } = await makeDesk();
    const id = await askStop(desk, 'req-withdraw-reason-3');
    await desk.deny(id, person('alice'), undefined);
    desk.stop();
    expect(audited.filter((e) => e.decision === 'rejected').map((e) => e.detail)).toEqual([`${id} withdrawn by alice`]);
  });
});
