import { z } from 'zod';
import { PLATFORMS } from '../src/config/schema.ts';
import { echoValue } from '../src/core/args.ts';
import { defineCommand } from '../src/core/define-command.ts';
import { reply } from '../src/core/reply.ts';
import { parseWhen } from '../src/core/schedule.ts';

const USAGE = [
  '/schedule add <status|top [host]|digest> every <interval> [channel:<id>] [mode:edit]',
  '/schedule add <what> cron "<pattern>" [tz:<zone>] [channel:<id>] [mode:edit]',
  '/schedule list',
  '/schedule remove <id>',
].join('\n');

/**
 * `channel:discord:123` typed at the terminal was taken as the terminal channel "discord:123" (`terminal:discord:123`):
 * a schedule posts on the platform it is added on, whose channel ids name none. Refused, the platform's own prefix too
 * (`terminal:ops` at the terminal): taken as `ops`, the same words would mean another channel typed elsewhere. The
 * refusal, or null.
 */
function platformNamed(channel: string): string | null {
  const named = new RegExp(`^(?:${PLATFORMS.join('|')}):(.*)$`, 'i').exec(channel);
  if (!named) return null;
  return `channel:${channel} names a platform: a schedule posts on the platform it is added on, so give the channel's id alone (channel:${named[1] || '<id>'})`;
}

/**
 * `/schedule add status every 5m`, `/schedule add digest cron "0 8 * * *" tz:Europe/Berlin`, `/schedule list`,
 * `/schedule remove S7K2QM`. Posts run as whoever added them, in the channel it was typed in unless `channel:`.
 */
export const schedule = defineCommand({
  name: 'schedule',
  description: 'Post status, top or a digest on a schedule: add, list, remove',
  args: z.strictObject({
    action: z
      .enum(['add', 'list', 'remove'], {
        error: (issue) =>
          issue.input === undefined
            ? 'add, list or remove? (/schedule list shows the schedules)'
            : `expected add, list or remove, got ${echoValue(issue.input)}`,
      })
      .describe('add, list or remove'),
    // /help says "(optional)" after it: true of list only, so what add and remove need is said.
    spec: z
      .string()
      .trim()
      .max(200)
      .optional()
      .describe('add: what and when (status every 5m), needed; remove: the id, needed; list: none'),
    tz: z.string().trim().min(1).max(64).optional().describe('time zone of a cron pattern (IANA, e.g. Europe/Berlin)'),
    channel: z
      .string()
      .trim()
      .regex(/^-?[A-Za-z0-9_:.@-]{1,64}$/, 'a channel id')
      .optional()
      .describe('post in this channel instead'),
    // Optional rather than defaulted, so that one typed to /schedule list or remove is seen (and refused).
    mode: z.enum(['post', 'edit']).optional().describe('post anew each time (the default), or edit one message'),
  }),
  positional: ['action', 'spec'],
  restOfLine: 'spec',
  permission: 'schedule.read',
  // Adding and removing change what xenops posts: the same chat event delivered again is dropped, as a change is.
  risk: (args) => (args.action === 'add' || args.action === 'remove' ? 'write' : 'read'),
  scope: 'local',
  examples: [
    '/schedule add status every 5m',
    '/schedule add digest cron "0 8 * * *" tz:Europe/Berlin',
    '/schedule list',
    '/schedule remove S7K2QM',
  ],
  run: async (args, ctx) => {
    const bad = (message: string) => reply.error('Bad arguments for /schedule', message, USAGE);
    // What only add reads is refused, never ignored, with list or remove (`/schedule list extra`, `remove ID tz:UTC`).
    const addOnly = (['tz', 'channel', 'mode'] as const).find((k) => args[k] !== undefined);
    if (args.action === 'list') {
      if (args.spec !== undefined || addOnly !== undefined)
        return bad(`/schedule list takes nothing more: ${addOnly ? `${addOnly}:` : echoValue(args.spec)}`);
      return ctx.schedules.list();
    }
    if (args.action === 'remove' && addOnly !== undefined) return bad(`/schedule remove takes only the id: ${addOnly}:`);
    if (args.action === 'remove') {
      // Chat ids are typed as shown (S7K2QM) or lower-cased, as /approve takes them; config ids keep their case.
      const typed = args.spec?.trim() ?? '';
      const id = /^s[a-z0-9]{5}$/i.test(typed) ? typed.toUpperCase() : typed;
      if (!/^(S[A-Z0-9]{5}|cfg-[A-Za-z0-9_-]+)$/.test(id))
        return bad(id ? `"${id.slice(0, 20)}" is not a schedule id` : 'which schedule? give its id');
      return ctx.schedules.remove(id);
    }
    const elsewhere = args.channel === undefined ? null : platformNamed(args.channel);
    if (elsewhere !== null) return bad(elsewhere);
    const parsed = parseWhen(args.spec ?? '', args.tz, ctx.schedules.hosts);
    if (!parsed.ok) return bad(parsed.problem);
    return ctx.schedules.add({
      what: parsed.what,
      host: parsed.host,
      when: parsed.when,
      channelId: args.channel ?? null,
      mode: args.mode ?? 'post',
    });
  },
});
