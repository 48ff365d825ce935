import { z } from 'zod';
import { countText } from './cut-text.ts';

/**
 * Domain names as xenops accepts them from chat: xend's character set (libxl allows anything, but anything is
 * what makes shell injection and ambiguous lookups possible), no all-digit names (xl reads those as domids),
 * and no migration leftovers. See shared/xen-toolstack.md §6.
 */
export const DOMAIN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}$/;
export const DOM0_NAME = 'Domain-0';

/**
 * xl's temporary names while a domain migrates, `web--incoming` on the target and `web--migratedaway` on the source
 * (a failed final handshake leaves either): the guest's own name, or null for any other name.
 */
export function migratingName(name: string): string | null {
  return /^(.*)--(?:incoming|migratedaway)$/.exec(name)?.[1] ?? null;
}

export const DomainName = z
  .string()
  .trim()
  .regex(DOMAIN_NAME_PATTERN, {
    // "(at most 64)" alone left a 70-character name, shown cut short, looking as if it broke the character rule.
    error: (issue) => {
      const length = Array.from(String(issue.input ?? '')).length;
      const limit = length > 64 ? `${countText(length)} characters; at most 64` : 'at most 64';
      return `must start with a letter or digit and use only letters, digits and _ . : + - (${limit})`;
    },
  })
  .refine((s) => !/^\d+$/.test(s), 'must not be all digits (xl would read it as a domain id)')
  .refine((s) => !/--(incoming|migratedaway)$/.test(s), 'names ending --incoming or --migratedaway are migration leftovers');
export type DomainName = z.infer<typeof DomainName>;

/** A domain that a mutating operation may touch: never Domain-0. */
export const TargetDomainName = DomainName.refine((s) => s !== DOM0_NAME, 'Domain-0 cannot be the target of this command');

/** Host names are our own config keys: short, lowercase, safe in Redis keys, BullMQ queue names and shells. */
export const HOST_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** What a host name must be; the argument parser names the value typed before it (see check in args.ts). */
export const HOST_NAME_RULE = 'must be 1-32 of a-z 0-9 _ - starting with a letter or digit';
export const HostName = z
  .string()
  .trim()
  .regex(HOST_NAME_PATTERN, {
    // `/list XEN1`: the name meant is said (only when it is one: nothing else typed is echoed from here).
    error: (issue) => {
      const lower = String(issue.input ?? '').toLowerCase();
      return HOST_NAME_PATTERN.test(lower) ? `must be lower case: ${lower}` : HOST_NAME_RULE;
    },
  });
export type HostName = z.infer<typeof HostName>;

/**
 * `xen1` or `xen1,xen2`, as /freeze takes hosts: each a host name, one named twice taken once, a trailing comma
 * forgiven. The read commands of the fleet take it as `host` (/list, /top, /uptime, /digest): Discord completes a host
 * there, and `/list xen1:web` is told the command takes a host. The bot checks each against the config and the
 * asker's scope, and runs them in the config's order (pipeline.ts).
 */
export const HostNames = z
  .string()
  .trim()
  .transform((text, ctx) => {
    const names = [...new Set(text.split(',').filter((h) => h !== ''))];
    // One host is refused in the words it was before lists (`host: "xen1|cat" is not a valid host name: …`), not as
    // the first element of a list.
    const one = names.length === 1 ? HostName.safeParse(names[0]) : null;
    for (const issue of one?.error?.issues ?? []) ctx.issues.push({ code: 'custom', message: issue.message, input: names[0] });
    return names;
  })
  .pipe(z.array(HostName).min(1, 'name at least one host'));
/** The description of a HostNames argument, the same in every command that takes one. */
export const HOST_NAMES_DESCRIPTION = 'a host, or hosts separated by commas (default: every host you may use)';

export const IDENTIFIER_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
/** Names of people, roles and permission groups in the config. */
export const Identifier = z.string().regex(IDENTIFIER_PATTERN, 'must be 1-32 of a-z 0-9 _ - starting with a letter');
