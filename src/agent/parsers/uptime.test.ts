import { describe, expect, it } from 'vitest';
import { fixture as sample } from '../../../test/helpers/fixtures.ts';
import { parseUptime } from './uptime.ts';

describe('parseUptime', () => {
  it('reads xm uptime with days and a header with a trailing space', () => {
    const r = parseUptime(sample('xm-uptime__exabox-ovm-tests_vmcontrol.txt'));
    expect(r.unparsed).toEqual([]);
    expect(r.rows[0]).toEqual({ name: 'Domain-0', id: 0, uptimeSeconds: 136 * 86_400 + 38 * 60 + 43 });
    expect(r.rows[2]).toEqual({ name: 'scas22dv0508m.us.oracle.com', id: 259, uptimeSeconds: 6 * 86_400 + 14 * 3600 + 54 * 60 + 59 });
  });

  it('reads xl rows under a day (hours padded to two), one day, and names with spaces', () => {
    const text = [
      `${'Name'.padEnd(33)} ${'ID'.padStart(4)} Uptime`,
      `${'web'.padEnd(33)} ${'3'.padStart(4)}  2:05:09`,
      `${'s-vm 007'.padEnd(33)} ${'12'.padStart(4)} 1 day,  0:00:01`,
    ].join('\n');
    expect(parseUptime(text).rows).toEqual([
      { name: 'web', id: 3, uptimeSeconds: 2 * 3600 + 5 * 60 + 9 },
      { name: 's-vm 007', id: 12, uptimeSeconds: 86_401 },
    ]);
  });

  it('keeps what it cannot read instead of guessing', () => {
    const r = parseUptime('web 3 up a while\n');
    expect(r.rows).toEqual([]);
    expect(r.unparsed).toEqual([{ lineNumber: 1, line: 'web 3 up a while' }]);
  });
});
