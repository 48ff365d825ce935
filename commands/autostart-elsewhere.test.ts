import { describe, expect, it } from 'vitest';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { parseArgs } from '../src/core/args.ts';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import type { Reply } from '../src/core/reply.ts';
import type { DomainStatus, DomainSummary } from '../src/core/xen.ts';
import { autostart } from './autostart.ts';

/**
 * Showing a domain's autostart says what `/autostart … on` is refused for: another host has an entry for it (after a
 * migration the link stays on the host left), so it boots there too — naming that host only when the asker may know
 * it. The end-to-end case (a real move, the simulator) is test/integration/autostart-read-after-move.test.ts.
 */
const dom = (name: string, status: DomainStatus, linked: boolean): DomainSummary =>
  ({
    name,
    id: status === 'defined' ? null : 3,
    uuid: null,
    memoryMiB: 2048,
    vcpus: 2,
    status,
    cpuSeconds: 0,
    configPath: `/etc/xen/vm/${name}.cfg`,
    autostart: linked ? { path: `/etc/xen/auto/${name}.cfg`, target: `/etc/xen/vm/${name}.cfg` } : null,
  }) as unknown as DomainSummary;
const fleet = (xen1: DomainSummary[], xen2: DomainSummary[]) => {
  const f = new FleetCache(['xen1', 'xen2']);
  f.update('xen1', xen1);
  f.update('xen2', xen2);
  return f;
};
const listed = (domains: DomainSummary[]): HostOutcome<'domain.list'> => ({
  host: 'xen2',
  ok: true,
  result: { host: 'xen2', toolstack: 'xl', domains },
});
const show = (view: FleetCache, visible: string[], xen2: DomainSummary[]): Reply =>
  autostart.render(
    [listed(xen2)] as never,
    parseArgs(autostart, { kind: 'text', text: 'web' }) as never,
    renderContext({ fleet: { view, visible } }),
  );
const text = (r: Reply) => [r.title, ...r.blocks.map((b) => ('text' in b ? b.text : ''))].join('\n');

describe('/autostart web, shown from xen2, where web runs', () => {
  const xen2 = [dom('web', 'blocked', false)];

  it('GIVEN the link left on xen1, where web no longer runs THEN it warns that web boots there too, and how to end it', () => {
    const r = show(fleet([dom('web', 'defined', true)], xen2), ['xen1', 'xen2'], xen2);
    expect(r.tone).toBe('warning');
    expect(text(r)).toBe(
      [
        'web does not start with xen2',
        'nothing for it in /etc/xen/auto',
        '⚠ web still starts with xen1, where it no longer runs: it boots there too after xen1 boots again (/autostart xen1:web off ends that)',
        'config file: /etc/xen/vm/web.cfg',
      ].join('\n'),
    );
  });

  it('GIVEN that host is one the asker may not know THEN it is not named', () => {
    const r = show(fleet([dom('web', 'defined', true)], xen2), ['xen2'], xen2);
    expect(text(r)).toContain('⚠ web also starts with another host: it boots there too after that host boots again');
    expect(text(r)).not.toContain('xen1');
  });

  it('GIVEN no other host starts it THEN the answer is as before', () => {
    const r = show(fleet([dom('web', 'defined', false)], xen2), ['xen1', 'xen2'], xen2);
    expect(r.tone).toBe('info');
    expect(text(r)).toBe(
      ['web does not start with xen2', 'nothing for it in /etc/xen/auto', 'config file: /etc/xen/vm/web.cfg'].join('\n'),
    );
  });
});
