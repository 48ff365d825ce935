import { z } from 'zod';
import { echoValue } from '../core/args.ts';
import { isTimeZone } from '../core/oncall.ts';

const Glob = z.string().min(1);
// `abort`: zod then reports the union as a whole, and the loader names the branch the author meant (a weekly window
// with a misspelt weekday was otherwise reported as a one-off window whose times are not dates).
const TimeOfDay = z.string().regex(/^([01]?\d|2[0-3]):[0-5]\d$/, { error: 'a time of day, HH:MM', abort: true });
const DateTime = z.iso.datetime({ offset: true, abort: true });

/**
 * A maintenance window: mutating commands on its hosts are refused while it is open (reads go on). Either once
 * (`from`/`until`, ISO date-times) or every week (`weekday`, `from`/`until` as HH:MM in `timezone`).
 */
export const MaintenanceWindow = z.union([
  z
    .strictObject({
      hosts: z.array(Glob).min(1),
      reason: z.string().min(1),
      from: DateTime,
      until: DateTime,
    })
    // Such a window is never open: it froze nothing, silently (a weekly one may cross midnight, a one-off cannot).
    .refine((w) => Date.parse(w.until) > Date.parse(w.from), {
      path: ['until'],
      error: (issue) => `must be after from (${(issue.input as { from: string }).from}): this window would never be open`,
    }),
  z.strictObject({
    hosts: z.array(Glob).min(1),
    reason: z.string().min(1),
    weekday: z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']),
    from: TimeOfDay,
    until: TimeOfDay,
    // An unknown zone made every comparison false: a weekly window that never froze anything.
    timezone: z
      .string()
      .refine(isTimeZone, {
        error: (issue) => `unknown time zone ${echoValue(issue.input)}: use an IANA name such as Europe/Berlin, America/New_York or UTC`,
      })
      .default('UTC'),
  }),
]);
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;
