import { z } from 'zod';
import { DomainName, HostName } from '../src/core/names.ts';

/** `web` or `xen1:web`: the domain part is validated like every domain name before anything else happens. */
export const DomainRef = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const m = /^([a-z0-9][a-z0-9_-]{0,31}):(.+)$/.exec(value);
    const host = m ? HostName.safeParse(m[1]) : null;
    const domain = DomainName.safeParse(m && host?.success ? m[2] : value);
    if (!domain.success)
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a valid domain name: ${domain.error.issues[0]?.message ?? 'invalid'}` });
  });

export function splitDomainRef(ref: string): { host: string | null; domain: string } {
  const m = /^([a-z0-9][a-z0-9_-]{0,31}):(.+)$/.exec(ref);
  return m && HostName.safeParse(m[1]).success ? { host: m[1] as string, domain: m[2] as string } : { host: null, domain: ref };
}
