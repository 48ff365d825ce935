import { describe, expect, it } from 'vitest';
import { demoChat } from '../../../test/helpers/stack.ts';

const chat = demoChat();

/** The display column at which `text` starts in `row`: East Asian wide characters take two, combining marks none. */
function columnOf(row: string, text: string): number {
  const before = row.slice(0, row.indexOf(text));
  let col = 0;
  for (const c of before) {
    if (/\p{Mn}/u.test(c)) continue;
    col += /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uff00-\uff60]/u.test(c) ? 2 : 1;
  }
  return col;
}

describe('a table of guests with non-ASCII names on the terminal', () => {
  it('keeps the columns after a wide or combining name aligned', async () => {
    const xen2 = chat.stack.sim.fleet.host('xen2');
    // Names a Dom0 may well have: xl takes any name; wide CJK characters and a decomposed é (e + U+0301).
    chat.stack.sim.fleet.addDomain(xen2, { name: '日本語', memoryMiB: 512, vcpus: 1, flags: '-b----' });
    chat.stack.sim.fleet.addDomain(xen2, { name: 'cafe\u0301', memoryMiB: 256, vcpus: 1, flags: '-b----' });
    const out = await chat.say('/list xen2');
    const rows = out.split('\n').filter((l) => l.startsWith('xen2 ') || l.startsWith('host '));
    expect(rows).toHaveLength(5);
    const header = rows[0] as string;
    // Every row's memory column ends where the header's does (right-aligned), whatever the name before it.
    const memoryEnd = columnOf(header, 'memory') + 'memory'.length;
    const ends = rows.slice(1).map((r) => {
      const m = / (\d+ [MG]iB) /.exec(r);
      return m ? columnOf(r, m[0]) + m[0].length - 1 : -1;
    });
    expect({ rows, ends }).toEqual({ rows, ends: ends.map(() => memoryEnd) });
  });

  it('keeps them aligned after a name with a control character, shown escaped', async () => {
    const xen1 = chat.stack.sim.fleet.host('xen1');
    chat.stack.sim.fleet.addDomain(xen1, { name: 'ev\x1b[31mil', memoryMiB: 512, vcpus: 1, flags: '-b----' });
    const out = await chat.say('/list xen1');
    const rows = out.split('\n').filter((l) => l.startsWith('xen1 ') || l.startsWith('host '));
    expect(rows).toContain(rows.find((r) => r.includes('ev\\x1b[31mil')));
    const memoryEnd = columnOf(rows[0] as string, 'memory') + 'memory'.length;
    // Running ones: a defined guest has no memory in use ("-").
    const ends = rows.slice(1).flatMap((r) => {
      const m = / (\d+ [MG]iB) /.exec(r);
      return m ? [columnOf(r, m[0]) + m[0].length - 1] : [];
    });
    expect({ rows, ends }).toEqual({ rows, ends: ends.map(() => memoryEnd) });
  });
});
