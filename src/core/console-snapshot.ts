import { DOM0_NAME } from './names.ts';

/**
 * Domain-0 is the host itself: xenconsole refuses it (`Can't specify Domain-0`, under xl and xm alike) and xenconsoled
 * keeps no guest log for it, so a snapshot job could only fail on the host with that raw line.
 */
export function dom0ConsoleRefusal(host?: string): string {
  return `${DOM0_NAME} has no console /console can read: it is the host itself (xl console and xm console refuse it) — its console is the SSH session on ${host ?? 'the host'}`;
}

/**
 * The most of a console log (or of what a time-boxed attach captured) the agent reads: a guest printing without line
 * ends (a runaway loop, a binary on the serial console) leaves lines of megabytes, and `tail -n` would send them
 * whole, through Redis and into the reply. 256 KiB holds 2,000 lines of 130 characters.
 */
export const CONSOLE_READ_BYTES = 256 * 1024;
/** The most of one console line a snapshot keeps; the rest is said in the line (`… [N more characters]`). */
export const CONSOLE_LINE_CHARS = 1000;
