import { z } from 'zod';
import { configScheduleId, parseWhen, SCHEDULE_WHATS, type ScheduleSpec } from '../core/schedule.ts';
import { PlatformId, yamlNumber } from './number-schema.ts';

const PLATFORMS = ['terminal', 'discord', 'telegram'] as const;
const ChannelRef = z.strictObject({ platform: z.enum(PLATFORMS), id: PlatformId });

/**
 * A schedule in the config (the same as `/schedule add`): `every: 5m` or `cron: "0 8 * * *"` (+ `tz`). Its id is
 * `cfg-<name>`; removing it here removes it from Redis at the next bot start.
 */
export const ConfigSchedule = z
  .strictObject({
    what: z.enum(SCHEDULE_WHATS),
    /** `top` only: one host. */
    host: z.string().min(1).optional(),
    every: z.string().min(1).optional(),
    cron: z.string().min(1).optional(),
    tz: z.string().min(1).optional(),
    channel: ChannelRef,
    mode: z.enum(['post', 'edit']).default('post'),
    /** The person the posts run as (their permissions and host scope apply). */
    as: z.string().min(1),
  })
  .superRefine((s, ctx) => {
    if ((s.every === undefined) === (s.cron === undefined))
      ctx.addIssue({ code: 'custom', path: ['every'], message: 'give exactly one of every (e.g. 5m) or cron (e.g. "0 8 * * *")' });
    else {
      const text = [s.what, ...(s.host ? [s.host] : []), ...(s.every ? ['every', s.every] : ['cron', s.cron ?? ''])].join(' ');
      // Hosts are checked against the config in crossCheckConfig; here any name passes.
      const parsed = parseWhen(text, s.tz, s.host ? [s.host] : []);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', path: [s.every ? 'every' : 'cron'], message: parsed.problem });
    }
  });
export type ConfigSchedule = z.infer<typeof ConfigSchedule>;

/** The config's schedules as specs (the schema has validated them). */
export function configSchedules(schedules: Record<string, ConfigSchedule>): ScheduleSpec[] {
  return Object.entries(schedules).flatMap(([name, s]) => {
    const text = [s.what, ...(s.host ? [s.host] : []), ...(s.every ? ['every', s.every] : ['cron', s.cron ?? ''])].join(' ');
    const parsed = parseWhen(text, s.tz, s.host ? [s.host] : []);
    if (!parsed.ok) return [];
    return [
      {
        id: configScheduleId(name),
        what: parsed.what,
        host: parsed.host,
        when: parsed.when,
        channel: s.channel,
        mode: s.mode,
        owner: s.as,
        source: 'config' as const,
        createdAt: 0,
      },
    ];
  });
}

/** Alerts: a domain that crashed, vanished, or started or stopped outside xenops, and hosts that became unreachable. */
export const AlertsSection = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Where alerts go; none = alerts are only logged. */
    channels: z.array(ChannelRef).default([]),
    /** The same alert (kind, host, domain) is posted at most once per cool-down. */
    cooldownMinutes: yamlNumber(z.number().int().min(0).max(1440)).default(15),
  })
  .default({ enabled: true, channels: [], cooldownMinutes: 15 });
export type AlertsSection = z.infer<typeof AlertsSection>;

/** How status posts and digests look. */
export const PostsSection = z
  .strictObject({
    /** Domains listed by CPU% in a status post. */
    topDomains: yamlNumber(z.number().int().min(0).max(50)).default(5),
    /** Above this many hosts, a status post lists only the hosts with a problem (and counts the rest). */
    hostRows: yamlNumber(z.number().int().min(1).max(200)).default(20),
    /** Changes listed in a post before "and N more". */
    changeRows: yamlNumber(z.number().int().min(1).max(200)).default(20),
  })
  .default({ topDomains: 5, hostRows: 20, changeRows: 20 });
export type PostsSection = z.infer<typeof PostsSection>;
