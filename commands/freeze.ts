import { z } from 'zod';
import { echoValue } from '../src/core/args.ts';
import { showControls } from '../src/core/control-chars.ts';
import { defineCommand, usageOf } from '../src/core/define-command.ts';
import { looksLikeUntil, parseUntil, UNTIL_WORD, untilProblem } from '../src/core/oncall.ts';
import { type Reply, reply } from '../src/core/reply.ts';

/** `xen1,xen2` or `all` → host names (validated by the bot against the config). */
export const HostList = z
  .string()
  .trim()
  .regex(/^(all|[a-z0-9][a-z0-9_-]{0,31}(,[a-z0-9][a-z0-9_-]{0,31})*)$/, {
    // The parser puts `hosts: ` before it.
    error: (issue) => `expected a host, hosts separated by commas, or all, got ${echoValue(issue.input)}`,
  });

// A number with a unit, in any script's digits, signed or with a fraction: what someone means as a duration though
// parseUntil reads only whole ASCII d/h/m. The unit list, not a guess, tells `3d` from `2nd`.
const UNIT = '(?:d|days?|h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?|w|wks?|weeks?)';
const NUMBER = '[+\\-\\u2212]?\\p{Nd}+(?:[.,]\\p{Nd}+)?';
const DURATION_SHAPE = new RegExp(`^${NUMBER}${UNIT}(?:\\p{Nd}+(?:[.,]\\p{Nd}+)?${UNIT})*$`, 'iu');
const NUMBER_ALONE = new RegExp(`^${NUMBER}$`, 'u');
const UNIT_WORD = new RegExp(`^${UNIT}$`, 'i');
const CLOCK_SHAPE = /^\p{Nd}{1,2}:\p{Nd}{2}$/u;

/**
 * The until a reason's first words may be: `tomorrow 09:00`, `2025-03-04 18:00` and `2 hours` are one, typed as two
 * words (`pair`: as the parser reads it, `shown`: as typed, for refusals). `shaped`: it reads as a time, valid or not.
 */
function untilIn(words: readonly string[]): { pair: string | null; typed: string; shown: string; shaped: boolean } {
  const [first = '', second = ''] = words;
  const pair = /^tomorrow$/i.test(first)
    ? `${first} ${second}`
    : /^\d{4}-\d{2}-\d{2}$/.test(first) && /^\d{1,2}:\d{2}$/.test(second)
      ? `${first}T${second}`
      : NUMBER_ALONE.test(first) && UNIT_WORD.test(second)
        ? `${first} ${second}`
        : null;
  const typed = pair ?? first;
  const shaped = looksLikeUntil(typed) || DURATION_SHAPE.test(typed) || CLOCK_SHAPE.test(typed) || pair !== null;
  return { pair, typed, shown: pair !== null ? `${first} ${second}` : first, shaped };
}

/**
 * `/freeze 1h xen1 oops`, `/freeze tomorrow 09:00 xen1 …`: the until typed before the hosts. Read as typed, "1h" is no
 * host and "xen1" starts the reason — told to join them with a comma, the next try says "no host named 1h". The
 * command as it should be typed, or null when the hosts word is a host or reads as no until followed by hosts.
 */
function untilBeforeHosts(hosts: string, rest: readonly string[], isHost: (name: string) => boolean): string | null {
  const areHosts = (w: string) => w === 'all' || w.split(',').every(isHost);
  if (areHosts(hosts)) return null;
  const lead = [hosts, ...rest];
  const skip = lead.length > 1 && UNTIL_WORD.test(hosts) && untilIn(lead.slice(1)).shaped ? 1 : 0;
  const until = untilIn(lead.slice(skip));
  if (!until.shaped) return null;
  const used = skip + (until.pair !== null ? 2 : 1);
  const next = lead[used];
  if (next === undefined || !areHosts(next)) return null;
  const when = lead.slice(0, used).join(' ');
  const reason = lead.slice(used + 1).join(' ') || '<reason>';
  const many = next === 'all' || next.includes(',');
  const goes = `the host${many ? 's go' : ' goes'} first`;
  // A time that is none (`2 hours`, `24:00`) is said too: the line suggested would only be refused next.
  const problem = untilProblem(until.typed);
  if (problem !== null) return `${goes} (/freeze ${next} <until> ${reason}), and ${problem.replace(until.typed, until.shown)}`;
  return `${goes}: /freeze ${next} ${when} ${reason} (${when} reads as a time, not a host)`;
}

/**
 * Words before a time that make it one the reason is about (`since 09:30`, `after 22:00`), not the freeze's end.
 * Not `by` or `before`: `patching, done by 18:00` is most likely the end, and is asked to go first.
 */
const SINCE_WORD = /^(since|from|after|at|on|in|made|of)$/i;

/**
 * `/freeze xen1 patching for 2h`: the time said last, as one says it, read as the end of a reason froze xen1 until
 * /unfreeze. The line as it should be typed when the reason ends in a phrase parseUntil takes (`for 2h`, `18:00`,
 * `till tomorrow 09:00`), else null. Only one it takes: `replace disk 2` or `kernel upgrade to 6.1` is a reason.
 */
function untilAtEnd(hosts: string, words: readonly string[], at: Date, zone: string): string | null {
  // Longest first, so that `till tomorrow 09:00` is the until, not `09:00`; a word of reason is left before it.
  for (let start = Math.max(1, words.length - 3); start < words.length; start++) {
    const tail = words.slice(start);
    const skip = tail.length > 1 && UNTIL_WORD.test(tail[0] ?? '') ? 1 : 0;
    const until = untilIn(tail.slice(skip));
    if (skip + (until.pair !== null ? 2 : 1) !== tail.length) continue;
    // A time the reason is about, not when the freeze ends: after a word saying so (`disk errors since 09:30`, `reboot
    // after 22:00`), or one already past (`the change made 2026-11-02`): the whole text is the reason.
    if (!skip && SINCE_WORD.test(words[start - 1] ?? '')) continue;
    const parsed = parseUntil(until.typed, at, zone, 'end');
    if (!parsed.ok || parsed.until.getTime() <= at.getTime()) continue;
    return `the time goes before the reason: /freeze ${hosts} ${until.shown} ${words.slice(0, start).join(' ')} (a time after it is read as part of the reason, a freeze with no end)`;
  }
  return null;
}

/**
 * `/freeze HOSTS [UNTIL] REASON`: mutating commands on those hosts are refused (reads go on) until UNTIL (`2h`,
 * `18:00`, ISO) or /unfreeze. The first word of the reason is taken as UNTIL when it reads as one.
 */
export const freeze = defineCommand({
  name: 'freeze',
  description: 'Refuse mutating commands on hosts (reads go on) until a time or /unfreeze',
  args: z.strictObject({
    hosts: HostList.describe('a host, hosts separated by commas, or all'),
    reason: z
      .string()
      .trim()
      .min(1, 'say why (the reason is shown to everyone refused)')
      .max(200)
      // Shown to everyone refused and on /status, on every platform: a bidi override or an escape would make it read
      // as something else there.
      .refine((r) => showControls(r) === r, {
        error: (issue) => `no control characters (got ${showControls(String(issue.input)).slice(0, 60)})`,
      })
      // Discord's menu has no until of its own: there, as in chat, it is typed first in the reason.
      .describe('why (shown to whoever is refused); a time first is the until: 2h kernel upgrade'),
  }),
  positional: ['hosts', 'reason'],
  // Derived from the schema it would read `/freeze <hosts> <reason>`, hiding the until that run() reads off the reason.
  usage: '/freeze <hosts> [<until>] <reason>',
  placeholders: {
    until: 'when it ends: 30m, 2h, 18:00, tomorrow 09:00 or 2025-03-04 18:00, also written for 2h, until 18:00 (default: until /unfreeze)',
  },
  permission: 'host.freeze',
  risk: 'write',
  scope: 'local',
  examples: ['/freeze xen1 2h kernel upgrade', '/freeze all storage maintenance'],
  run: async (args, ctx): Promise<Reply> => {
    const all = args.reason.split(/\s+/);
    // `until 18:00 kernel`, `for 2h kernel`: the word said before a time is not the reason's start (read so, the
    // freeze would never end). Only before a time: `for the storage swap` is a reason, word and all.
    const words = all.length > 1 && UNTIL_WORD.test(all[0] ?? '') && untilIn(all.slice(1)).shaped ? all.slice(1) : all;
    const [first = ''] = words;
    const { pair, typed, shown, shaped } = untilIn(words);
    const hosts = args.hosts === 'all' ? ['all'] : [...new Set(args.hosts.split(','))];
    const bad = (why: string) => reply.error('Bad arguments for /freeze', why, usageOf(freeze));
    const swapped = untilBeforeHosts(args.hosts, all, (h) => ctx.freezes.isHost(h));
    if (swapped) return bad(swapped);
    // `/freeze xen1 xen2 2h …` meant two hosts: read as typed, xen2 would be left running and xen1 frozen for good
    // under the reason "xen2 2h …".
    if (first !== '' && first.split(',').every((h) => ctx.freezes.isHost(h)))
      return bad(
        `hosts are separated by commas, with no space: /freeze ${args.hosts},${first} … (a reason cannot start with a host's name)`,
      );
    // Not an until at all: the whole text is the reason, and the freeze lasts until /unfreeze — unless it ends in one.
    if (!shaped) {
      const late = untilAtEnd(args.hosts, all, new Date(ctx.now()), ctx.freezes.zone);
      return late ? bad(late) : ctx.freezes.freeze(hosts, null, args.reason);
    }
    // Shaped like one but not a valid one (`24:00`, `0h`, `1.5h`, a 31st of April): said, never a freeze that does not
    // end.
    // On the shared clock, as the bots that check the freeze compare its end: "30m" is 30 minutes on every one.
    const now = ctx.now();
    // A wall time ends a freeze at the last time the clock reads it, or where the clock jumps past it.
    const until = parseUntil(typed, new Date(now), ctx.freezes.zone, 'end');
    if (!until.ok) return bad(until.reason.replace(typed, shown));
    if (until.until.getTime() <= now) return bad(`${shown} is in the past: a freeze must end later than now`);
    // A time alone (`/freeze xen2 2h`) is a time without a reason, not the reason "2h" of a freeze that never ends.
    const reason = words.slice(pair ? 2 : 1).join(' ');
    if (reason === '') return bad('say why after the time');
    return ctx.freezes.freeze(hosts, until.until, reason);
  },
});
