import { describe, expect, it } from 'vitest';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { uptime } from './uptime.ts';

/** `xl uptime` lines the agent could not read reach /uptime raw (UptimeTable.unparsed): the reply says them in one line. */
function render(unparsed: string[]) {
  const outcomes: HostOutcome<'host.uptime'>[] = [
    {
      host: 'xen1',
      ok: true,
      result: { host: 'xen1', toolstack: 'xl', rows: [{ name: 'Domain-0', id: 0, uptimeSeconds: 8_476_064 }], unparsed },
    } as HostOutcome<'host.uptime'>,
  ];
  return uptime.render(outcomes as never, {} as never, renderContext({ now: Date.now() }));
}

const notes = (r: ReturnType<typeof render>) => r.blocks.flatMap((b) => (b.type === 'text' ? [b.text] : []));

describe('/uptime with lines of xl uptime it could not read', () => {
  it('GIVEN three odd lines, one long and holding an escape THEN says them in one short line, the first quoted', () => {
    const long = `mail\u001b]52;c;aGk=\u0007 ${'9 '.repeat(200)}up a while`;
    const r = render([long, 'db  12  (null)', 'cache  13  ?']);
    const said = notes(r);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^⚠ xen1: could not read 3 lines of xl uptime \(the first: mail\\x1b\]52;c;aGk=\\x07 9 9 .*…\)$/);
    expect(said[0]?.length).toBeLessThan(160);
    expect(r.tone).toBe('warning');
  });

  it('GIVEN one short odd line THEN quotes it whole', () => {
    expect(notes(render(['mail  9  up a while']))).toEqual(['⚠ xen1: could not read this line of xl uptime: mail  9  up a while']);
  });
});
