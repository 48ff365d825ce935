import { describe, expect, it } from 'vitest';
import { renderDiscord } from '../src/adapters/discord/render.ts';
import { renderTelegram } from '../src/adapters/telegram/render.ts';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { answered, failed, NOW, textOf as text } from '../test/helpers/status-outcomes.ts';
import { status } from './status.ts';

const AGENT = { where: '31337@agent-1.example.org', seenAgoMs: 1_000, alive: true };

/** A host whose xl list printed a line the agent could not read (a newer xl, say). */
function odd(name: string): HostOutcome<'host.status'> {
  return answered(
    name,
    {
      domainsByStatus: { running: 20 },
      totalMemoryMiB: 262_144,
      xenVersion: '4.19.1',
      notes: ['could not read this line of xl list: "web-frontend-0001  7  1024  2  -b----  12.5  extra-column"'],
      sampledAt: NOW - 2_000,
    },
    { agent: AGENT },
  );
}

const down = (name: string) =>
  failed(name, { code: 'transport', message: `cannot connect to ${name} (10.0.0.1:22): connect ECONNREFUSED` }, { agent: AGENT });

describe('notes of host output that could not be read, in a large status post', () => {
  it('GIVEN 1,000 hosts printing an odd list line and 20 down THEN one message that counts the notes it leaves out', () => {
    const fleet = Array.from({ length: 1000 }, (_, i) => (i < 20 ? down(`xen${i}`) : odd(`xen${i}`)));
    const r = status.render(fleet, {}, renderContext({ now: NOW }));
    const t = text(r);
    expect(t).toContain('⚠ xen20: could not read this line of xl list');
    expect(t).toContain('⚠ … and 975 more notes of what could not be read, from 975 hosts');
    expect(renderDiscord(r).files).toEqual([]);
    expect(renderTelegram(r).documents).toEqual([]);
  });
});
