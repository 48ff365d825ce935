import { z } from 'zod';
import { ApprovalIdArg } from '../src/app/approvals.ts';
import { defineCommand, reasonArg } from '../src/core/define-command.ts';

/** `/deny ID [reason]`: an approver refuses a pending request, or its requester withdraws it. */
export const deny = defineCommand({
  name: 'deny',
  description: 'Deny a pending request (or withdraw your own), with an optional reason',
  args: z.strictObject({
    id: ApprovalIdArg,
    reason: reasonArg('the requester'),
  }),
  positional: ['id', 'reason'],
  permission: null,
  risk: 'read',
  scope: 'local',
  examples: ['/deny K7Q2XM', '/deny K7Q2XM not during business hours'],
  run: (args, ctx) => ctx.approvals.deny(args.id, args.reason),
});
