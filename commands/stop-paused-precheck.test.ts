import { describe, expect, it } from 'vitest';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { decide } from '../src/core/pipeline.ts';
import { domainSummary as dom } from '../test/helpers/domains.ts';
import { pipelineScene } from '../test/helpers/pipeline-scene.ts';
import { chatRequest } from '../test/helpers/requests.ts';

/**
 * A graceful /stop (or /reboot) of a guest the view shows paused was put to an approver ("xen1$ timeout 30 xl shutdown
 * -w web"), and once approved the agent refused it: a paused guest cannot act on the request, nothing was sent. The
 * approver was asked for nothing. Refused before, as /migrate and /pause refuse a paused guest, with the way forward.
 */
const { ctx } = pipelineScene(['xen1', 'xen2']);

const fleet = () => {
  const f = new FleetCache(['xen1', 'xen2']);
  f.update('xen1', [{ ...dom('web', 'paused', 'f03cfb97-7a46-5f5e-a2da-af2a1915d2a7'), flags: '--p---' }, dom('db', 'running')]);
  f.update('xen2', []);
  return f;
};

const refusal = (text: string) => {
  const d = decide(ctx, chatRequest('r1', text), fleet(), true);
  return d.kind === 'reject' ? (d.reply.blocks[0] as { text: string }).text : `not refused: ${d.kind}`;
};

describe('a graceful /stop or /reboot of a guest the view shows paused', () => {
  it.each([
    [
      'stop web',
      'web is paused on xen1: a paused guest cannot act on a shutdown request (it would power off at its next unpause) — /unpause web first, or /stop web --force; nothing was queued',
    ],
    [
      'stop web --reason "kernel upgrade"',
      'web is paused on xen1: a paused guest cannot act on a shutdown request (it would power off at its next unpause) — /unpause web first, or /stop web --force; nothing was queued',
    ],
    [
      'stop xen1:web',
      'web is paused on xen1: a paused guest cannot act on a shutdown request (it would power off at its next unpause) — /unpause xen1:web first, or /stop xen1:web --force; nothing was queued',
    ],
    [
      // Named by its UUID: the way forward names it as the fleet lists it.
      'stop f03cfb97-7a46-5f5e-a2da-af2a1915d2a7',
      'web is paused on xen1: a paused guest cannot act on a shutdown request (it would power off at its next unpause) — /unpause xen1:web first, or /stop xen1:web --force; nothing was queued',
    ],
    [
      'reboot web',
      'web is paused on xen1: a paused guest cannot act on a reboot request — /unpause web first, or /reboot web --force (destroy and create again); nothing was queued',
    ],
  ])('/%s is refused before anything is queued or put to an approver', (text, reason) => {
    expect(refusal(text)).toBe(reason);
  });

  it('is decided again on the hosts fresh answer first: a view that may be stale asks them, it does not refuse', () => {
    expect(decide(ctx, chatRequest('r1', 'stop web'), fleet(), false)).toMatchObject({ kind: 'lookup' });
  });

  it.each(['stop web --force', 'reboot web --force', 'stop db', 'reboot db', 'unpause web'])(
    '/%s is not refused here (forced, or not paused)',
    (text) => {
      expect(decide(ctx, chatRequest('r1', text), fleet(), true)).toMatchObject({ kind: 'enqueue' });
    },
  );
});
