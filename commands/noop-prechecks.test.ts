import { describe, expect, it } from 'vitest';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { decide } from '../src/core/pipeline.ts';
import type { DomainSummary } from '../src/core/xen.ts';
import { domainSummary as dom } from '../test/helpers/domains.ts';
import { pipelineScene } from '../test/helpers/pipeline-scene.ts';
import { chatRequest } from '../test/helpers/requests.ts';

/**
 * A stop, reboot, pause or unpause the fleet view already shows to be a no-op (the guest is not running on its host,
 * or already in the state asked for) was put to an approver ("xen1$ timeout 30 xl shutdown -w web") only for the
 * agent to answer "already stopped". Refused before anything is queued, as /migrate refuses a guest not running.
 */
const { ctx } = pipelineScene(['xen1', 'xen2']);

const withState = (name: string, status: DomainSummary['status'], flags: string): DomainSummary => ({ ...dom(name, status), flags });
const fleet = () => {
  const f = new FleetCache(['xen1', 'xen2']);
  f.update('xen1', [
    dom('web', 'defined'),
    dom('db', 'running'),
    withState('frozen', 'paused', '--p---'),
    withState('crashy', 'crashed', '--psc-'),
    withState('halted', 'shutdown', '---s--'),
  ]);
  f.update('xen2', []);
  return f;
};

const refusal = (text: string, refreshed = true) => {
  const d = decide(ctx, chatRequest('r1', text), fleet(), refreshed);
  return d.kind === 'reject' ? (d.reply.blocks[0] as { text: string }).text : null;
};

describe('a command the fleet view shows to be a no-op', () => {
  it.each([
    ['stop web', 'web is not running on xen1: nothing to stop; nothing was queued'],
    ['stop web --force', 'web is not running on xen1: nothing to stop; nothing was queued'],
    ['reboot web', 'web is not running on xen1: nothing to reboot; nothing was queued'],
    ['reboot web --force', 'web is not running on xen1: nothing to reboot; nothing was queued'],
    ['pause web', 'web is not running on xen1: nothing to pause; nothing was queued'],
    ['unpause web', 'web is not running on xen1: nothing to unpause; nothing was queued'],
    ['pause frozen', 'frozen is already paused on xen1: nothing to pause; nothing was queued'],
    ['unpause db', 'db is not paused on xen1: nothing to unpause; nothing was queued'],
  ])('/%s is refused before anything is queued or put to an approver', (text, reason) => {
    expect(refusal(text)).toBe(reason);
  });

  it('is decided again on the hosts fresh answer first: a view that may be stale asks them, it does not refuse', () => {
    expect(decide(ctx, chatRequest('r1', 'stop web'), fleet(), false)).toMatchObject({ kind: 'lookup' });
  });

  it.each([
    // A crashed or shut-down guest is cleared away by a stop: the agent decides what it can do.
    'stop crashy',
    'stop crashy --force',
    'stop halted --force',
    'reboot crashy --force',
    'stop frozen --force',
    'stop db',
    'reboot db',
    'pause db',
    'unpause frozen',
    'unpause crashy',
    'pause crashy',
  ])('/%s is not refused here', (text) => {
    expect(decide(ctx, chatRequest('r1', text), fleet(), true)).toMatchObject({ kind: 'enqueue' });
  });
});
