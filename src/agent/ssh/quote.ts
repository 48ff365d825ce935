/** Words that need no quoting in a POSIX shell: nothing here can expand, split or redirect. */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one argv element for a POSIX shell: single quotes, with `'` written as `'\''`. */
export function quoteArg(arg: string): string {
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The one command string sent over SSH for an argv: every element quoted, so the remote shell sees exactly these
 * words and nothing from chat can become shell syntax. `sudo -n` fails instead of prompting for a password.
 */
export function buildCommand(argv: readonly string[], options: { sudo?: boolean } = {}): string {
  if (argv.length === 0) throw new Error('empty argv');
  if (argv.some((a) => a.includes('\0'))) throw new Error('argv element contains a NUL byte');
  const words = options.sudo ? ['sudo', '-n', '--', ...argv] : [...argv];
  return words.map(quoteArg).join(' ');
}
