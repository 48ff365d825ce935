const SIZE_UNITS = ['MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * A size in MiB in the largest unit it holds one of, to a tenth ("1.5 GiB", "3 TiB"): a 4 TiB host read "4096 GiB",
 * and a fleet's sum hundreds of thousands. A figure that would round to 1024 of one unit is 1 of the next.
 */
export function mib(n: number | null): string {
  if (n === null) return '-';
  let value = n;
  let unit = 0;
  // Shown as it would be in this unit (MiB whole, the others to a tenth): 1023.96 GiB is no "1024 GiB".
  const shownAt = (u: number) => (u === 0 ? 1 : 10);
  while (unit < SIZE_UNITS.length - 1 && Math.round(Math.abs(value) * shownAt(unit)) >= 1024 * shownAt(unit)) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${n} MiB`;
  return `${value.toFixed(1).replace(/\.0$/, '')} ${SIZE_UNITS[unit]}`;
}
