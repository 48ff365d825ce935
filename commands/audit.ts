import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { reply } from '../src/core/reply.ts';

export const audit = defineCommand({
  name: 'audit',
  description: 'The most recent audit entries: who did what, where, with what outcome',
  args: z.strictObject({ n: z.number().int().min(1).max(200).default(10).describe('how many entries (1-200)') }),
  positional: ['n'],
  permission: 'audit.read',
  risk: 'read',
  scope: 'local',
  examples: ['/audit', '/audit 50'],
  run: async (args, ctx) => {
    const entries = await ctx.readAudit(args.n);
    const rows = entries.map((e) => [
      e['ts']?.slice(11, 19) ?? '',
      e['event'] ?? '',
      e['person'] ?? e['userId'] ?? '',
      e['command'] ?? '',
      e['args'] ?? '',
      e['detail'] ?? '',
    ]);
    return reply.result(
      `Last ${entries.length} audit entries`,
      [reply.table({ columns: ['time', 'event', 'who', 'command', 'args', 'detail'], rows })],
      { tone: 'info' },
    );
  },
});
