import { z } from 'zod';
import { ApprovalIdArg } from '../src/app/approvals.ts';
import { defineCommand } from '../src/core/define-command.ts';

/**
 * `/approve ID`: anyone may try; the desk decides who may approve what (never the requester, scope on every target).
 * `/approve` alone lists what waits for the asker's approval.
 */
export const approve = defineCommand({
  name: 'approve',
  description: 'Approve a pending request of someone else (shown by its approval request); alone, what waits for you',
  args: z.strictObject({
    id: ApprovalIdArg.optional(),
  }),
  positional: ['id'],
  permission: null,
  risk: 'read',
  scope: 'local',
  examples: ['/approve K7Q2XM', '/approve'],
  run: (args, ctx) => (args.id === undefined ? ctx.approvals.waiting() : ctx.approvals.approve(args.id)),
});
