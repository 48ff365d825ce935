import { quoteHostLine } from '../../core/control-chars.ts';

/**
 * "it said on stderr: …" for a command that exited 0 yet wrote on stderr (xl's reads return 0 with a part of them
 * failed: "libxl_physinfo failed.", "Could not list vms."), its first line cut short and its control characters
 * shown; "" when stderr is empty.
 */
export function stderrSaid(stderr: string): string {
  const said =
    stderr
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  if (said === '') return '';
  return `it said on stderr: ${quoteHostLine(said)}`;
}
