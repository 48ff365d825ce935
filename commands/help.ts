import { z } from 'zod';
import { echoCommand } from '../src/core/args.ts';
import type { CommandSpec } from '../src/core/command-spec.ts';
import { defineCommand, type ExplainedCommand } from '../src/core/define-command.ts';
import { reply } from '../src/core/reply.ts';

const USAGE = '/help [<command>]';

/**
 * The list's usage column is padded to this many columns at most (most usages fit): a longer usage has its line,
 * with its description on the next, so that the list is not as wide as the longest usage (/audit's) on a phone.
 */
const USAGE_COLUMN = 30;

/** How an argument is written in the command's usage line. */
function written(spec: CommandSpec, option: CommandSpec['options'][number]): string {
  const positional = spec.usage.includes(`<${option.name}>`) && !spec.usage.includes(`--${option.name} <${option.name}>`);
  if (positional) return `<${option.name}>`;
  return option.type === 'boolean' ? `--${option.name}` : `--${option.name} <${option.name}>`;
}

/**
 * A row for every placeholder of the usage line, in its order: each argument, and each word the command reads out of
 * another (/freeze's `[<until>]`), so that no part of the usage is left unexplained.
 */
function argumentRows(spec: ExplainedCommand): string[][] {
  const rows = [
    ...spec.options.map((o) => ({ shown: written(spec, o), what: `${o.description}${o.required ? '' : ' (optional)'}` })),
    ...Object.entries(spec.placeholders ?? {}).map(([name, what]) => ({
      shown: `<${name}>`,
      what: `${what}${spec.usage.includes(`[<${name}>]`) ? ' (optional)' : ''}`,
    })),
  ];
  const at = (shown: string) => {
    const i = spec.usage.indexOf(shown);
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  };
  return rows.sort((a, b) => at(a.shown) - at(b.shown)).map((r) => [r.shown, r.what]);
}

export const help = defineCommand({
  name: 'help',
  description: 'What you can run here; /help <command> explains one',
  args: z.strictObject({
    command: z.string().trim().optional().describe('a command to explain, e.g. stop'),
  }),
  positional: ['command'],
  permission: null,
  risk: 'read',
  scope: 'local',
  examples: ['/help', '/help stop'],
  run: (args, ctx) => {
    const allowed = ctx.allowedCommands();
    if (args.command !== undefined && args.command !== '') {
      // `/help /stop` and `/help STOP` are what people type too.
      const name = args.command.replace(/^\//, '').toLowerCase();
      const spec = allowed.find((c) => c.name === name);
      if (!spec) return reply.error('No such command', `there is no ${echoCommand(name)} you can run here — /help lists them`, USAGE);
      const rows = argumentRows(spec);
      return reply.result(
        spec.usage,
        [reply.text(spec.description), ...(rows.length ? [reply.table({ columns: ['argument', 'what it is'], rows })] : [])],
        { tone: 'info' },
      );
    }
    const rows = allowed.map((c) => [c.usage, c.description]);
    return reply.result(
      'Commands you can run',
      [
        reply.table({ columns: ['usage', 'what it does'], rows, maxWidths: [USAGE_COLUMN] }),
        reply.text('Domains may be written host:domain when two hosts have one of that name.'),
        // The usage lines show <reason>, not that a value of several words needs quotes.
        reply.text('Quote a value of several words: --reason "kernel upgrade".'),
      ],
      {
        tone: 'info',
      },
    );
  },
});
