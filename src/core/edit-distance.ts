/**
 * How many one-character slips turn `a` into `b`: an insertion, a deletion, a substitution, or two neighbours typed
 * the wrong way round (optimal string alignment: `sotp` is one slip from `stop`, where plain Levenshtein counts two
 * and finds `top` as near). At or above `cap` it is reported as `cap`: names from a config can be long.
 */
export function editDistance(a: string, b: string, cap = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (before[j - 2] as number) + 1);
      current.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin >= cap) return cap;
    before = previous;
    previous = current;
  }
  return Math.min(previous[b.length] as number, cap);
}

/**
 * The name `typed` was most likely meant to be (`/lst` → list): the one name it begins (`stat` is status cut short,
 * not start mistyped), else the nearest within two slips (and fewer than the name's length); else none.
 */
export function nearestName(typed: string, names: readonly string[]): string | null {
  if (typed.length === 0 || typed.length > 32) return null;
  const begun = names.filter((name) => name.startsWith(typed));
  if (begun.length === 1) return begun[0] ?? null;
  if (typed.length < 2) return null;
  let best: { name: string; d: number } | null = null;
  for (const name of names) {
    const d = editDistance(typed, name, 3);
    if (d <= Math.min(2, name.length - 1) && (best === null || d < best.d)) best = { name, d };
  }
  return best?.name ?? null;
}
