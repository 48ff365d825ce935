import { z } from 'zod';
import { ApprovalIdArg } from '../src/app/approvals.ts';
import { defineCommand } from '../src/core/define-command.ts';

/** `/approve ID`: anyone may try; the desk decides who may approve what (never the requester, scope on every target). */
export const approve = defineCommand({
  name: 'approve',
  description: 'Approve a pending request of someone else (shown by its approval request)',
  args: z.strictObject({
    id: ApprovalIdArg,
  }),
  positional: ['id'],
  permission: null,
  risk: 'read',
  scope: 'local',
  examples: ['/approve K7Q2XM'],
  run: (args, ctx) => ctx.approvals.approve(args.id),
});
