import { z } from 'zod';
import { PlatformId, yamlNumber } from './number-schema.ts';

const Glob = z.string().min(1);

/** Who may approve: whoever is on call now, or anyone holding a permission (scope checked on every target). */
export const Approvers = z.union([z.literal('oncall'), z.strictObject({ permission: z.string().min(1) })]);
export type Approvers = z.infer<typeof Approvers>;

/** One approval policy: the first whose commands (or risks) and hosts match a request applies. */
export const ApprovalPolicy = z
  .strictObject({
    /** Command names (`stop`, `migrate`); a request matches when its command is listed or its risk is. */
    commands: z.array(z.string().min(1)).default([]),
    /** Risks (`dangerous`). */
    risks: z.array(z.enum(['read', 'write', 'dangerous'])).default([]),
    /** Only requests touching one of these hosts (globs, e.g. `prod-*`). */
    hosts: z.array(Glob).min(1).default(['*']),
    approvers: Approvers.default('oncall'),
    /** How many distinct people must approve. */
    count: yamlNumber(z.number().int().min(1).max(5)).default(1),
    /** An approval request lapses after this; an expired request never runs. */
    expiresMinutes: yamlNumber(
      z
        .number()
        .int()
        .min(1)
        .max(24 * 60),
    ).default(15),
  })
  .refine((p) => p.commands.length > 0 || p.risks.length > 0, { message: 'name at least one command or risk' });
export type ApprovalPolicy = z.infer<typeof ApprovalPolicy>;

/**
 * The default: whatever takes a running guest's service away — stop, reboot and pause (forced or not) — migrate and
 * evacuate (many migrations, one approval), and every dangerous command (stop/reboot --force, rebalance --run) need
 * one approval from whoever is on call. unpause (gives the service back), autostart (changes only what happens at
 * the host's next boot, and refuses a double autostart) and start (refuses a double start) do not.
 */
export const DEFAULT_APPROVAL_POLICIES: ApprovalPolicy[] = [
  {
    commands: ['stop', 'reboot', 'pause', 'migrate', 'evacuate'],
    risks: ['dangerous'],
    hosts: ['*'],
    approvers: 'oncall',
    count: 1,
    expiresMinutes: 15,
  },
];

export const ApprovalsSection = z
  .strictObject({
    /** false = nothing needs approval (a lab, or a bot whose every operator is an admin). */
    enabled: z.boolean().default(true),
    policies: z.array(ApprovalPolicy).default(DEFAULT_APPROVAL_POLICIES),
    /** Besides the requester's own chat, where approval requests are announced (with buttons where the platform has them). */
    channels: z.array(z.strictObject({ platform: z.enum(['terminal', 'discord', 'telegram']), id: PlatformId })).default([]),
    /** Unanswered this long, a request is escalated to the next person on call; twice as long, to the admins. */
    escalateMinutes: yamlNumber(
      z
        .number()
        .int()
        .min(1)
        .max(24 * 60),
    ).default(5),
  })
  .default({ enabled: true, policies: DEFAULT_APPROVAL_POLICIES, channels: [], escalateMinutes: 5 });
export type ApprovalsSection = z.infer<typeof ApprovalsSection>;
