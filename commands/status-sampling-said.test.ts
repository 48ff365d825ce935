import { describe, expect, it } from 'vitest';
import { renderContext } from '../src/core/define-command.ts';
import { answered, failed, NOW, rowsOf, textOf } from '../test/helpers/status-outcomes.ts';
import { status } from './status.ts';

/** What the busiest-domains part of a status post says when some hosts give no live sample, and why. */
const busy = (host: string) =>
  answered(host, { busiest: [{ name: `${host}-web`, cpuPercent: 7, memoryKiB: 1_048_576 }], sampledAt: NOW - 2_000 });
const off = (host: string) => answered(host, { sampledAt: null, samplingOff: true });

describe('the live samples a status post says it has', () => {
  it('GIVEN one host whose agent samples and one whose agent has sampling off THEN the second is said to be off, not to lack a sample', () => {
    const t = rowsOf(status.render([busy('xen1'), off('xen2')], {}, renderContext({ now: NOW })));
    expect(t).toContain('Busiest domains (samples up to 2 s old)\nxen1-web | xen1 | 7.0 | 1 GiB');
    expect(t).toContain('Sampling is off in xen2’s agent config: its guests are not ranked.');
    expect(t).not.toContain('No live CPU sample from xen2');
  });

  it('GIVEN many hosts with sampling off beside one sampling THEN a few named, the rest counted, in one line', () => {
    const t = textOf(
      status.render([busy('xen0'), ...Array.from({ length: 8 }, (_, i) => off(`xen${i + 1}`))], {}, renderContext({ now: NOW })),
    );
    expect(t).toContain(
      'Sampling is off in the agent config of 8 hosts (xen1, xen2, xen3, xen4, xen5 and 3 more): their guests are not ranked.',
    );
  });

  it('GIVEN no host answered THEN nothing is said of samples coming every few seconds', () => {
    const t = textOf(
      status.render(
        [
          failed('xen1', { code: 'noAgent', message: 'no agent serves xen1' }),
          failed('xen2', { code: 'transport', message: 'cannot connect to xen2' }),
        ],
        {},
        renderContext({ now: NOW }),
      ),
    );
    expect(t).not.toContain('every few seconds');
    expect(t).not.toContain('No live CPU samples');
  });

  it('GIVEN hosts that answered before their first sample THEN still that none has come yet', () => {
    const t = textOf(status.render([answered('xen1', { sampledAt: null })], {}, renderContext({ now: NOW })));
    expect(t).toContain('No live CPU samples yet (the agents sample every few seconds).');
  });
});
