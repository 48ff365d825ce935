import { describe, expect, it } from 'vitest';
import { renderContext } from '../src/core/define-command.ts';
import { reply } from '../src/core/reply.ts';
import { listed, migrated, readBack } from '../test/helpers/evacuation-outcomes.ts';
import { evacuate } from './evacuate.ts';

/**
 * A review: the read-back counts dying guests as still there, and a guest the plan itself shut down
 * (--shutdown-rest) is read back 'dying' while xl tears it down (xl shutdown -w returns on `---s--`, before the
 * destroy) was said to have been "started or moved there while the plan ran": it is on its way out by the plan's step.
 */
const steps = [
  { op: 'domain.migrate' as const, host: 'xen1', domain: 'gateway', target: 'xen2' },
  { op: 'domain.stop' as const, host: 'xen1', domain: 'big', force: false },
];
const moved = migrated('gateway', 'xen2', 2);
const stopped = { host: 'xen1', ok: true, result: { host: 'xen1', outcome: 'stopped' } } as never;
const card = [
  reply.text('Evacuation of xen1 (xl): 1 migration, one at a time, each verified on its target.'),
  reply.text('--shutdown-rest: big (needs 8192 MiB; no host has room) — shut down on xen1 (xl shutdown) after the migrations'),
];

describe('a guest the plan shut down, read back dying', () => {
  it('is not said to have been started or moved there while the plan ran', () => {
    const r = evacuate.render(
      [moved, stopped, listed(['big', 'dying'])] as never,
      { host: 'xen1', 'shutdown-rest': true },
      renderContext({ plan: { steps: [...steps, readBack], summary: card }, froze: { hosts: ['xen1'], reason: 'evacuated' } }),
    );
    expect(r.title).toBe('xen1 evacuated: 1 guest moved, 1 shut down');
    expect(JSON.stringify(r)).not.toContain('still holds');
  });
});
