import { z } from 'zod';
import { echoValue } from './args.ts';
import { DomainName, HostName } from './names.ts';

/**
 * How a chat request names a domain, parsed once: `web` (found across the fleet), `xen1:web` (that host), or a
 * UUID (resolved to its name before anything is authorized or sent to a host).
 */
export interface DomainRef {
  host?: string;
  /** A domain name, or a UUID when `isUuid` says so. */
  domain: string;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_PATTERN.test(s);
}

export function parseDomainRef(text: string): DomainRef {
  const m = /^([a-z0-9][a-z0-9_-]{0,31}):(.+)$/.exec(text.trim());
  // The domain part trimmed as DomainName trims what it checks: `xen1: web` was checked as "web" and used as " web".
  const domain = m?.[2]?.trim();
  return m?.[1] && domain !== undefined && HostName.safeParse(m[1]).success ? { host: m[1], domain } : { domain: text.trim() };
}

/**
 * `mail:smtp` names host mail only when there is such a host: otherwise it is the whole name (xend's names may hold
 * `:`), as /list prints it. A prefix that is no host and no part of a usable name stays a host, refused as unknown.
 */
export function onConfiguredHost(ref: DomainRef, isHost: (name: string) => boolean): DomainRef {
  if (ref.host === undefined || isHost(ref.host)) return ref;
  const whole = `${ref.host}:${ref.domain}`;
  return DomainName.safeParse(whole).success ? { domain: whole } : ref;
}

export function formatDomainRef(ref: DomainRef): string {
  return ref.host ? `${ref.host}:${ref.domain}` : ref.domain;
}

/** The `domain` argument of a command: validated like every domain name, then parsed into a DomainRef. */
export const DomainRefArg = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const ref = parseDomainRef(value);
    const domain = DomainName.safeParse(ref.domain);
    if (!domain.success)
      ctx.addIssue({
        code: 'custom',
        message: `${echoValue(value)} is not a valid domain name: ${domain.error.issues[0]?.message ?? 'invalid'}`,
      });
  })
  .transform(parseDomainRef);
