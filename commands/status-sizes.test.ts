import { describe, expect, it } from 'vitest';
import { renderContext } from '../src/core/define-command.ts';
import { answered, NOW, rowsOf } from '../test/helpers/status-outcomes.ts';
import { mib } from './render-helpers.ts';
import { status } from './status.ts';

const TiB = 1024 * 1024;

describe('sizes in the status post', () => {
  it('GIVEN a host of 4 TiB with 1 TiB free THEN its row says TiB, not thousands of GiB', () => {
    const t = rowsOf(status.render([answered('big1', { totalMemoryMiB: 4 * TiB, freeMemoryMiB: TiB })], {}, renderContext({ now: NOW })));
    expect(t).toContain('big1 | up (xl 4.17.3) | 2 running | 3 TiB used, 1 TiB free |');
  });

  it('GIVEN 1,000 hosts of 256 GiB THEN the summed memory is in TiB', () => {
    const fleet = Array.from({ length: 1000 }, (_, i) => answered(`xen${i}`, { totalMemoryMiB: 262_144, freeMemoryMiB: 16_384 }));
    const r = status.render(fleet, {}, renderContext({ now: NOW }));
    expect(r.blocks[0]).toEqual({
      type: 'text',
      text: '1000 hosts: 1000 up, 0 not answering; domains: 2000 running; memory 234.4 TiB used, 15.6 TiB free',
    });
  });

  it('GIVEN sizes at each unit’s edge THEN the larger unit once the figure would read 1024 of the smaller', () => {
    expect([mib(0), mib(1023), mib(1024), mib(1536), mib(1_048_575), mib(TiB), mib(TiB + TiB / 2)]).toEqual([
      '0 MiB',
      '1023 MiB',
      '1 GiB',
      '1.5 GiB',
      '1 TiB',
      '1 TiB',
      '1.5 TiB',
    ]);
    expect(mib(null)).toBe('-');
  });
});
