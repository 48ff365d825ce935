import { z } from 'zod';
import { defineCommand, usageOf } from '../src/core/define-command.ts';
import { parseUntil } from '../src/core/oncall.ts';
import { type Reply, reply } from '../src/core/reply.ts';

/** `xen1,xen2` or `all` → host names (validated by the bot against the config). */
export const HostList = z
  .string()
  .trim()
  .regex(/^(all|[a-z0-9][a-z0-9_-]{0,31}(,[a-z0-9][a-z0-9_-]{0,31})*)$/, 'hosts: a host, hosts separated by commas, or all');

/**
 * `/freeze HOSTS [UNTIL] REASON`: mutating commands on those hosts are refused (reads go on) until UNTIL (`2h`,
 * `18:00`, ISO) or /unfreeze. The first word of the reason is taken as UNTIL when it reads as one.
 */
export const freeze = defineCommand({
  name: 'freeze',
  description: 'Refuse mutating commands on hosts (reads go on) until a time or /unfreeze',
  args: z.strictObject({
    hosts: HostList.describe('a host, hosts separated by commas, or all'),
    reason: z.string().trim().min(1, 'say why (the reason is shown to everyone refused)').max(200).describe('[until] and why'),
  }),
  positional: ['hosts', 'reason'],
  permission: 'host.freeze',
  risk: 'write',
  scope: 'local',
  examples: ['/freeze xen1 2h kernel upgrade', '/freeze all storage maintenance'],
  run: async (args, ctx): Promise<Reply> => {
    const [first = '', ...rest] = args.reason.split(/\s+/);
    // A time alone (`/freeze xen2 2h`) is a time without a reason, not the reason "2h" of a freeze that never ends.
    const until = parseUntil(first, new Date(), ctx.freezes.zone);
    const reason = until.ok ? rest.join(' ') : args.reason;
    if (reason === '') return reply.error('Bad arguments for /freeze', 'say why after the time', usageOf(freeze));
    return ctx.freezes.freeze(args.hosts === 'all' ? ['all'] : args.hosts.split(','), until.ok ? until.until : null, reason);
  },
});
