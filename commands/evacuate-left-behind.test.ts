import { describe, expect, it } from 'vitest';
import { renderContext } from '../src/core/define-command.ts';
import { type Block, formatTable, type Reply, reply } from '../src/core/reply.ts';
import { listed, migrated, readBack } from '../test/helpers/evacuation-outcomes.ts';
import { evacuate } from './evacuate.ts';

/**
 * The final reply of an evacuation whose steps all succeeded but whose read-back finds guests still on the host that
 * do not run: a paused guest (the plan leaves it: a migration would unpause it), a crashed or dying one. Each still
 * holds its place on the host and goes down with it, so the host is not "evacuated" and "no guest runs" is not said;
 * only shut-down and defined domains are gone from it. The freeze is said once, not again as the plan's promise.
 */
const steps = [{ op: 'domain.migrate' as const, host: 'xen1', domain: 'gateway', target: 'xen2' }];
const moved = migrated('gateway', 'xen2', 2);
/** The card's lines as planEvacuation writes them when it leaves web, paused, on xen1. */
const card: Block[] = [
  reply.text('Evacuation of xen1 (xl): 1 migration, one at a time, each verified on its target.'),
  reply.text('left on xen1: web (paused (a migration would unpause it)) — not migrated'),
  reply.text('once every step has succeeded, xen1 is frozen (mutating commands refused) until /unfreeze'),
];
const args = { host: 'xen1', 'shutdown-rest': false };
const frozen = renderContext({ plan: { steps: [...steps, readBack], summary: card }, froze: { hosts: ['xen1'], reason: 'evacuated' } });

function text(r: Reply): string {
  return [r.title ?? '', ...r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text))].join(
    '\n',
  );
}

describe('/evacuate: guests left on the host that do not run', () => {
  it('GIVEN web paused on xen1, left by the plan THEN the reply names it, never says evacuated or "no guest runs"; xen1 is frozen', () => {
    const r = evacuate.render([moved, listed(['web', 'paused'], ['gateway', 'defined'])] as never, args, frozen);
    expect(r.title).toBe('xen1 is not empty: 1 guest moved, but web (paused) is there (the plan left it there: see below)');
    expect(r.tone).toBe('warning');
    const said = text(r);
    expect(said).not.toMatch(/evacuated:|no guest runs/);
    expect(said).toContain(
      'read back after the last step: xen1 still holds web (paused), so it is not evacuated — what is left goes down with xen1',
    );
    // Frozen all the same: every step succeeded, and nothing new should start there while web is seen to.
    expect(said).toContain('xen1 is now frozen (mutating commands refused) until /unfreeze (reads go on; /unfreeze xen1 lifts it)');
  });

  it('GIVEN a crashed, a dying and a shut-down guest found there THEN the first two are left there; the shut-down one is gone', () => {
    const r = evacuate.render(
      [moved, listed(['old', 'shutdown'], ['db', 'crashed'], ['tmp', 'dying'], ['mail', 'defined'])] as never,
      args,
      renderContext({ plan: { steps: [...steps, readBack], summary: [] }, froze: { hosts: ['xen1'], reason: 'evacuated' } }),
    );
    expect(r.title).toBe(
      'xen1 is not empty: 1 guest moved, but db (crashed), tmp (dying) are there (started or moved there while the plan ran)',
    );
    expect(text(r)).not.toMatch(/\bold\b|\bmail\b/);
  });

  it('GIVEN only shut-down and defined domains are left THEN xen1 is evacuated', () => {
    const r = evacuate.render([moved, listed(['old', 'shutdown'], ['mail', 'defined'])] as never, args, frozen);
    expect(r.title).toBe('xen1 evacuated: 1 guest moved');
    expect(text(r)).toContain('read back after the last step: no guest runs on xen1');
  });

  it('says the freeze once: the plan’s "once every step has succeeded…" is not repeated after "xen1 is now frozen"', () => {
    const r = evacuate.render([moved, listed(['mail', 'defined'])] as never, args, frozen);
    const said = text(r);
    expect(said).toContain('xen1 is now frozen (mutating commands refused) until /unfreeze');
    expect(said).not.toContain('once every step has succeeded');
    expect(said.match(/frozen/g)).toHaveLength(1);
    // The rest of the card is still shown.
    expect(said).toContain('Evacuation of xen1 (xl): 1 migration');
  });

  it('says the freeze once when it did not happen either: "not frozen", not the plan’s promise beside it', () => {
    const failed = { host: 'xen1', ok: false, failure: { code: 'remote', message: 'it failed' } };
    const r = evacuate.render([failed] as never, args, renderContext({ plan: { steps: [...steps, readBack], summary: card } }));
    const said = text(r);
    expect(said).toContain('xen1 was not frozen: the evacuation did not complete');
    expect(said).not.toContain('once every step has succeeded');
  });
});
