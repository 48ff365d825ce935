import { describe, expect, it } from 'vitest';
import { renderContext } from '../src/core/define-command.ts';
import { answered, failed, NOW, rowsOf } from '../test/helpers/status-outcomes.ts';
import { status } from './status.ts';

describe('how long ago a host’s agent was seen, in the status post', () => {
  it('GIVEN an agent gone for three days THEN its last beat is said in hours, as the refusals say it, not in seconds', () => {
    const gone = { where: '31337@agent-1', seenAgoMs: 3 * 86_400_000, alive: false };
    const t = rowsOf(
      status.render(
        [failed('xen1', { code: 'noAgent', message: 'no agent serves xen1' }, { agent: gone })],
        {},
        renderContext({ now: NOW }),
      ),
    );
    expect(t).toContain('xen1 | unknown (no agent) | - | - | gone (31337@agent-1, last seen 72 h ago) | ');
  });

  it('GIVEN an agent seen minutes ago THEN minutes, and a live one seconds', () => {
    const late = { where: '7@agent-2', seenAgoMs: 5 * 60_000, alive: false };
    const t = rowsOf(status.render([answered('xen1', {}, { agent: late }), answered('xen2')], {}, renderContext({ now: NOW })));
    expect(t).toContain('| gone (7@agent-2, last seen 5 min ago) |');
    expect(t).toContain('| 1@agent, seen 1 s ago |');
  });
});
