import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { reply } from '../src/core/reply.ts';

export const help = defineCommand({
  name: 'help',
  description: 'What you can run here',
  args: z.strictObject({}),
  positional: [],
  permission: null,
  risk: 'read',
  scope: 'local',
  examples: ['/help'],
  run: (_args, ctx) => {
    const rows = ctx.allowedCommands().map((c) => [c.usage, c.description]);
    return reply.result(
      'Commands you can run',
      [
        reply.table({ columns: ['usage', 'what it does'], rows }),
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
