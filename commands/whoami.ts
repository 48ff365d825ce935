import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { reply } from '../src/core/reply.ts';

export const whoami = defineCommand({
  name: 'whoami',
  description: 'Who xenops thinks you are, and your roles',
  args: z.strictObject({}),
  positional: [],
  permission: null,
  risk: 'read',
  scope: 'local',
  examples: ['/whoami'],
  run: (_args, ctx) =>
    reply.result(
      ctx.person ? `You are ${ctx.person}` : 'You are not known to xenops',
      [
        reply.fields([
          { name: 'platform', value: ctx.platform, inline: true },
          { name: 'your id', value: ctx.platformUserId, inline: true },
          { name: 'roles', value: ctx.roles.length > 0 ? ctx.roles.join(', ') : '(none)', inline: true },
        ]),
        ...(ctx.person ? [] : [reply.text('Give this id to an admin to be added to the config.')]),
      ],
      { tone: 'info' },
    ),
});
