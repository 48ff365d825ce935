/** A count as an operator reads it: 199,000. */
export function countText(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * The first `max` UTF-16 units of a line (a character never split in two), with what is left out: null when it fits.
 */
export function cutAt(line: string, max: number): { kept: string; left: number } | null {
  if (line.length <= max) return null;
  let end = max;
  const last = line.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return { kept: line.slice(0, end), left: line.length - end };
}
