import { z } from 'zod';
import { defineCommand, usageOf } from '../src/core/define-command.ts';
import { looksLikeUntil, parseUntil } from '../src/core/oncall.ts';
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
  // Derived from the schema it would read `/freeze <hosts> <reason>`, hiding the until that run() reads off the reason.
  usage: '/freeze <hosts> [<until>] <reason>',
  permission: 'host.freeze',
  risk: 'write',
  scope: 'local',
  examples: ['/freeze xen1 2h kernel upgrade', '/freeze all storage maintenance'],
  run: async (args, ctx): Promise<Reply> => {
    const words = args.reason.split(/\s+/);
    const [first = '', second = ''] = words;
    // `tomorrow 09:00` and `2025-03-04 18:00` are one until, typed as two words.
    const pair = /^tomorrow$/i.test(first)
      ? `${first} ${second}`
      : /^\d{4}-\d{2}-\d{2}$/.test(first) && /^\d{1,2}:\d{2}$/.test(second)
        ? `${first}T${second}`
        : null;
    const typed = pair ?? first;
    // Refusals quote the until as it was typed, not as rewritten for the parser.
    const shown = pair !== null ? `${first} ${second}` : first;
    const hosts = args.hosts === 'all' ? ['all'] : args.hosts.split(',');
    const bad = (why: string) => reply.error('Bad arguments for /freeze', why, usageOf(freeze));
    // Not an until at all: the whole text is the reason, and the freeze lasts until /unfreeze.
    if (!looksLikeUntil(typed)) return ctx.freezes.freeze(hosts, null, args.reason);
    // Shaped like one but not a valid one (`24:00`, `0h`, a 31st of April): said, never a freeze that does not end.
    const until = parseUntil(typed, new Date(), ctx.freezes.zone);
    if (!until.ok) return bad(until.reason);
    if (until.until.getTime() <= Date.now()) return bad(`${shown} is in the past: a freeze must end later than now`);
    // A time alone (`/freeze xen2 2h`) is a time without a reason, not the reason "2h" of a freeze that never ends.
    const reason = words.slice(pair ? 2 : 1).join(' ');
    if (reason === '') return bad('say why after the time');
    return ctx.freezes.freeze(hosts, until.until, reason);
  },
});
