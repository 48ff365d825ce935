import { describe, expect, it } from 'vitest';
import { renderContext } from '../src/core/define-command.ts';
import { answered } from '../test/helpers/status-outcomes.ts';
import { status } from './status.ts';

/** 08:00:05, a daily post's time: yesterday's post was at the same time of day. */
const NOW = Date.UTC(2026, 10, 25, 8, 0, 5);

const xen1 = answered('xen1', { domainsByStatus: { running: 2 }, sampledAt: NOW - 1_000 });

describe('when the changes of a scheduled status post start', () => {
  it('GIVEN a daily post whose last one was yesterday THEN the date is said, not a time that reads as today', () => {
    const r = status.render(
      [xen1],
      {},
      renderContext({ now: NOW, changes: [{ kind: 'started', host: 'xen1', domain: 'web' }], changesSince: NOW - 86_400_000 }),
    );
    expect(r.blocks[0]).toEqual({ type: 'text', text: 'Changes since the last post (2026-11-24 08:00:05 UTC):\n▲ web started on xen1' });
    const none = status.render([xen1], {}, renderContext({ now: NOW, changes: [], changesSince: NOW - 86_400_000 }));
    expect(none.blocks[0]).toEqual({ type: 'text', text: 'No changes since the last post (2026-11-24 08:00:05 UTC).' });
  });

  it('GIVEN the last post was earlier today THEN the time alone, as before', () => {
    const r = status.render([xen1], {}, renderContext({ now: NOW, changes: [], changesSince: NOW - 300_000 }));
    expect(r.blocks[0]).toEqual({ type: 'text', text: 'No changes since the last post (07:55:05 UTC).' });
  });
});
