import { z } from 'zod';
import { echoValue } from '../src/core/args.ts';
import { defineCommand, usageOf } from '../src/core/define-command.ts';
import { Identifier } from '../src/core/names.ts';
import { formatWhen, type OnCallNow, type OnCallView, parseUntil, untilProblem } from '../src/core/oncall.ts';
import { type Field, type Reply, reply } from '../src/core/reply.ts';

const OnCallArgs = z.strictObject({
  action: z
    .enum(['show', 'set', 'clear'], {
      // Nothing guessed: a word that is no action may as well be a person meant for clear as for set.
      error: (issue) => `expected show, set or clear, got ${echoValue(issue.input)}`,
    })
    .default('show')
    .describe('show (the default), set or clear'),
  person: Identifier.optional().describe('with set: who goes on call; with clear: whose overrides end (default: all)'),
  // Checked with the action (checkedWithAction): clear takes none.
  until: z.string().optional().describe('with set: 18:00, 2h, "tomorrow 09:00" or an ISO time (default: the next handoff)'),
});

/**
 * The until checked with the action: `/oncall clear alice bob` was refused as a bad until ("bob"), which clear does not
 * take. A bad until stays a refusal of the schema, named `until:` (the parser reads a line whose words fail it again,
 * by place: `/oncall set bob person:alice`).
 */
function checkedWithAction(args: typeof OnCallArgs): typeof OnCallArgs {
  return args.superRefine((a, ctx) => {
    if (a.until === undefined) return;
    if (a.action === 'clear') {
      ctx.addIssue({ code: 'custom', message: 'clear takes one person: /oncall clear [<person>]' });
      return;
    }
    const problem = untilProblem(a.until);
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['until'], message: problem, input: a.until });
  });
}

/**
 * `/oncall` shows who is on call and who is next; `/oncall set PERSON [until]` puts someone on call (an override
 * kept in Redis until it ends), and `/oncall clear [PERSON]` ends such overrides early (a mistaken one could not be
 * undone: another over it hands back to it). One command with an `action` word first, so the argument parser, help,
 * Discord options and Telegram menus need nothing new; `set` and `clear` need permission oncall.set, checked by the bot.
 */
export const oncall = defineCommand({
  name: 'oncall',
  description: 'Who is on call now and next; /oncall set <person> [until] puts someone on call',
  args: checkedWithAction(OnCallArgs),
  positional: ['action', 'person', 'until'],
  // `tomorrow 09:00` and `2025-03-04 18:00` are one until typed as two words, as /freeze reads them.
  restOfLine: 'until',
  permission: 'oncall.read',
  risk: (args) => (args.action === 'show' ? 'read' : 'write'),
  scope: 'local',
  examples: [
    '/oncall',
    '/oncall set alice',
    '/oncall set alice 18:00',
    '/oncall set alice 2h',
    '/oncall set alice tomorrow 09:00',
    '/oncall clear carol',
  ],
  run: async (args, ctx): Promise<Reply> => {
    // On Redis's clock, as every bot of the prefix reads it: on a machine's own, bots whose clocks disagree named
    // different people around a handoff, and an override set on one ended early or late on the other.
    const at = new Date(ctx.now());
    const bad = (message: string): Reply => reply.error('Bad arguments for /oncall', message, usageOf(oncall));
    if (args.action === 'show') {
      if (args.person !== undefined)
        return bad(`to put ${args.person} on call: /oncall set ${args.person}${args.until ? ` ${args.until}` : ''}`);
      if (args.until !== undefined) return bad('until goes with set: /oncall set <person> <until>');
      return showView(await ctx.oncall.view(at), at);
    }
    if (args.action === 'clear') {
      if (args.until !== undefined) return bad('clear takes one person: /oncall clear [<person>]');
      const r = await ctx.oncall.clear(args.person ?? null, at);
      if (!r.ok) return reply.error(r.title, r.reason);
      const cleared = r.cleared.map((o) => `${o.person} until ${formatWhen(o.until, r.after.zone, at)}`).join(', ');
      return showView(r.after, at, [{ name: 'cleared', value: cleared, inline: false }]);
    }
    if (args.person === undefined) return bad('set needs a person: /oncall set <person> [until]');
    let until: Date | null = null;
    if (args.until !== undefined) {
      const parsed = parseUntil(args.until, at, ctx.oncall.zone);
      if (!parsed.ok) return bad(parsed.reason);
      until = parsed.until;
    }
    const r = await ctx.oncall.set(args.person, until, at);
    if (!r.ok) return reply.error(r.title, r.reason);
    const when = (d: Date) => formatWhen(d, r.after.zone, at);
    const fields: Field[] = [
      { name: 'was', value: r.before.now ? names(r.before.now) : 'nobody', inline: true },
      { name: 'next', value: r.after.next ? `${names(r.after.next)} from ${when(r.after.next.from)}` : 'nobody scheduled', inline: true },
    ];
    // What /oncall will say: an earlier override of the same person, their rotation shift, or their onCall: true may
    // run on after this one — the last with no end at all (until null), which is not "until" the override's end.
    const now = r.after.now?.person === r.person ? r.after.now : null;
    const endless = now !== null && now.until === null;
    const effective = now?.until ?? r.until;
    const longer =
      endless || effective.getTime() > r.until.getTime()
        ? [
            reply.text(
              `This override ends ${when(r.until)}; ${r.person} stays on call after it (an earlier override, the rotation or onCall: true).`,
            ),
          ]
        : [];
    // Set all the same (on call may be for being reached): but every request needing approval would wait on someone else.
    const none = r.approvesNone;
    const warning = none
      ? [
          reply.text(
            `${r.person} may run none of the commands that need approval (${none.commands.join(', ')}): until this ends, ${
              none.others.length > 0
                ? `only ${none.others.join(', ')} can approve them`
                : 'nobody can approve them: requests for them expire unanswered'
            }`,
          ),
        ]
      : [];
    const title = endless ? `${r.person} is on call, with no end set` : `${r.person} is on call until ${when(effective)}`;
    return reply.result(title, [reply.fields(fields), ...longer, ...warning, reply.text(`Times in ${r.after.zone}.`)], {
      tone: none ? 'warning' : 'success',
    });
  },
});

function names(who: { person: string; also?: readonly string[] | undefined }): string {
  return [who.person, ...(who.also ?? [])].join(', ');
}

function because(now: OnCallNow): string {
  switch (now.source) {
    case 'rotation':
      return 'the rotation';
    case 'override':
      return now.by !== undefined ? `set by ${now.by} with /oncall set` : 'an override in the config';
    case 'static':
      return 'onCall: true in the config (no rotation)';
    default:
      return now.source satisfies never;
  }
}

/** `first`: what a change did, shown before who is on call after it (its times are in the zone too). */
function showView(view: OnCallView, at: Date, first: Field[] = []): Reply {
  const when = (d: Date) => formatWhen(d, view.zone, at);
  const next = view.next ? `${names(view.next)} from ${when(view.next.from)}` : 'nobody scheduled';
  // Say the zone only when a time is shown.
  const zone = first.length > 0 || view.next || view.now?.until ? [reply.text(`Times in ${view.zone}.`)] : [];
  if (!view.now)
    return reply.result('Nobody is on call', [reply.fields([...first, { name: 'next', value: next, inline: true }]), ...zone], {
      tone: 'warning',
    });
  const now = view.now;
  return reply.result(
    `${names(now)} ${now.also.length > 0 ? 'are' : 'is'} on call`,
    [
      reply.fields([
        ...first,
        { name: 'until', value: now.until ? when(now.until) : 'no end set', inline: true },
        { name: 'because', value: because(now), inline: true },
        { name: 'next', value: next, inline: true },
      ]),
      ...zone,
    ],
    { tone: 'info' },
  );
}
