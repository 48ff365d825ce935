import { describe, expect, it } from 'vitest';
import { editDistance } from './edit-distance.ts';

/** Optimal string alignment, straight from its recursive definition. */
function osa(a: string, b: string): number {
  const memo = new Map<string, number>();
  const d = (i: number, j: number): number => {
    const k = `${i},${j}`;
    const m = memo.get(k);
    if (m !== undefined) return m;
    let v: number;
    if (i === 0) v = j;
    else if (j === 0) v = i;
    else {
      v = Math.min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d(i - 2, j - 2) + 1);
    }
    memo.set(k, v);
    return v;
  };
  return d(a.length, b.length);
}

describe('editDistance: optimal string alignment, capped', () => {
  it('matches the recursive definition on 20,000 random short strings, with and without a cap', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const word = () => Array.from({ length: rnd(7) }, () => 'abc'[rnd(3)]).join('');
    for (let n = 0; n < 20_000; n++) {
      const a = word();
      const b = word();
      const want = osa(a, b);
      expect(editDistance(a, b), `${a} ${b}`).toBe(want);
      const cap = 1 + rnd(4);
      expect(editDistance(a, b, cap), `${a} ${b} cap ${cap}`).toBe(Math.min(want, cap));
    }
  });
});
