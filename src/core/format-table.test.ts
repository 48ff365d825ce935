import { describe, expect, it } from 'vitest';
import { formatTable } from './reply.ts';

/**
 * A column capped with maxWidths (/help's usages) puts a wider cell on a line of its own; a review found the first
 * version doing so for every cell past the columns too, where a table without caps had kept its row on one line.
 */
describe('formatTable', () => {
  it('keeps a row with more cells than columns on one line when nothing is capped', () => {
    expect(formatTable({ columns: ['a', 'bb'], rows: [['x', 'yy', 'z', 'w']] })).toBe('a  bb\nx  yy  z  w');
  });

  it('puts a cell wider than its cap on a line of its own, the next cell under its column', () => {
    expect(
      formatTable({
        columns: ['usage', 'what'],
        rows: [
          ['/short', 'one'],
          ['/a-much-longer-usage', 'two'],
        ],
        maxWidths: [8],
      }),
    ).toBe(['usage     what', '/short    one', '/a-much-longer-usage', '          two'].join('\n'));
  });
});
