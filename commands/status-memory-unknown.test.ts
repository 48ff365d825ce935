import { describe, expect, it } from 'vitest';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { answered, bodyOf as body, failed, NOW } from '../test/helpers/status-outcomes.ts';
import { status } from './status.ts';

/** A host that answered; `memory` as `xl info` gave it (null: the line was missing, libxl_physinfo failed). */
function host(name: string, totalMiB: number | null, freeMiB: number | null): HostOutcome<'host.status'> {
  return answered(name, {
    domainsByStatus: { running: 2 },
    totalMemoryMiB: totalMiB,
    freeMemoryMiB: freeMiB,
    xenVersion: totalMiB === null ? null : '4.17.3',
    sampledAt: NOW - 1_000,
    ...(totalMiB === null ? { notes: ['xl info printed no nr_cpus, total_memory, xen_major (libxl_physinfo failed.)'] } : {}),
  });
}

const silent = (name: string) => failed(name, { code: 'noAnswer', message: `no answer from ${name}'s agent within 15 s` });

describe('memory of hosts that did not say it, in the status post', () => {
  it('GIVEN a fleet past hostRows with one host whose xl info lacked memory and one not answering THEN the sum says it covers the others only', () => {
    // 10 hosts of 64 GiB with 16 GiB free; h3 answered without memory figures, h4 did not answer.
    const fleet = Array.from({ length: 10 }, (_, i) => host(`h${i}`, 65_536, 16_384));
    fleet[3] = host('h3', null, null);
    fleet[4] = silent('h4');
    const r = status.render(fleet, {}, renderContext({ now: NOW, posts: { topDomains: 5, hostRows: 5, changeRows: 20 } }));
    const summary = r.blocks[0]?.type === 'text' ? r.blocks[0].text : '';
    expect(summary).toBe(
      '10 hosts: 9 up, 1 not answering; domains: 18 running; memory of 8 hosts (2 did not say): 384 GiB used, 128 GiB free',
    );
  });

  it('GIVEN every host said its memory THEN the sum is of the fleet, as before', () => {
    const fleet = Array.from({ length: 3 }, (_, i) => host(`h${i}`, 65_536, 16_384));
    const r = status.render(fleet, {}, renderContext({ now: NOW, posts: { topDomains: 5, hostRows: 2, changeRows: 20 } }));
    expect(r.blocks[0]).toEqual({
      type: 'text',
      text: '3 hosts: 3 up, 0 not answering; domains: 6 running; memory 144 GiB used, 48 GiB free',
    });
  });

  it('GIVEN a host row without memory figures THEN it says unknown, not "- free", and no empty version', () => {
    const t = body(status.render([host('xen1', 65_536, 16_384), host('xen2', null, null)], {}, renderContext({ now: NOW })));
    expect(t).toMatch(/^xen2 +up \(xl\) +2 running +unknown +1@agent, seen 1 s ago$/m);
  });
});
