import type { Config } from '../config/schema.ts';
import { authorize, channelAllowsCommand, channelPolicy, type Person } from '../core/authorize.ts';
import type { ScheduleAccess } from '../core/define-command.ts';
import { type Block, type Reply, reply } from '../core/reply.ts';
import type { Platform } from '../core/request.ts';
import { describeWhat, describeWhen, newScheduleId, type ScheduleSpec, type ScheduleWhat } from '../core/schedule.ts';
import type { AuditEntry } from './audit.ts';
import { type ScheduleBook, schedulePostKey } from './schedules.ts';

const MANAGE = 'schedule.manage';

export interface ScheduleAccessDeps {
  config: Config;
  book: ScheduleBook;
  audit: (e: AuditEntry) => Promise<void>;
  /** Epoch ms on the deployment's shared clock (Redis's): "next run" tells today from another day by it. */
  now: () => number;
}

/** "12:00:05 UTC" for today, else the date too. */
function when(ms: number | null, now: number): string {
  if (ms === null) return 'not scheduled';
  const iso = new Date(ms).toISOString();
  return new Date(now).toISOString().slice(0, 10) === iso.slice(0, 10)
    ? `${iso.slice(11, 19)} UTC`
    : `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

const where = (c: ScheduleSpec['channel']) => `${c.platform}:${c.id}`;

/**
 * Why the config does not let xenops post `what` in the channel, or null: the channel must be one of its channels,
 * and its command filter must let that command through — as for a person typing it there. Checked when a schedule
 * is added and at every tick (the config may have changed since).
 */
export function channelRefusesPost(config: Config, channel: ScheduleSpec['channel'], what: ScheduleWhat): string | null {
  const policy = channelPolicy(config, channel.platform, { id: channel.id, kind: 'group' });
  if (!policy.allowed) return `xenops may not post in ${where(channel)}: the config's channels do not allow it`;
  if (!channelAllowsCommand(config, policy.commands, what, `host.${what}`))
    return `/${what} is not allowed in ${where(channel)}: the config narrows that channel's commands`;
  return null;
}

/**
 * Why a schedule's tick posts nothing, or null: its channel refuses it (as above), or what it stands on left the config
 * since it was added — its owner (the posts run as them) or its host. Each tick would otherwise post the same error.
 */
export function tickRefused(config: Config, spec: Pick<ScheduleSpec, 'channel' | 'what' | 'host' | 'owner'>): string | null {
  if (!Object.hasOwn(config.people, spec.owner)) return `its owner ${spec.owner} is no longer in the config`;
  if (spec.host !== null && !Object.hasOwn(config.hosts, spec.host)) return `its host ${spec.host} is no longer in the config`;
  return channelRefusesPost(config, spec.channel, spec.what);
}

/** Lines naming the schedules that post nothing, at most this many (then a count). */
const NOT_POSTING_SHOWN = 10;

/**
 * The schedules whose ticks the config refuses (channel, owner or host gone, or narrowed since): they still have a next run, but
 * each tick posts nothing and only the bot log says so once. Said in the list, or nothing in chat would.
 */
function notPosting(config: Config, rows: readonly ScheduleSpec[]): Block[] {
  const lines = rows.flatMap((s) => {
    const why = tickRefused(config, s);
    return why ? [`${s.id} posts nothing: ${why}`] : [];
  });
  if (lines.length === 0) return [];
  const more = lines.length - NOT_POSTING_SHOWN;
  return [reply.text([...lines.slice(0, NOT_POSTING_SHOWN), ...(more > 0 ? [`and ${more} more`] : [])].join('\n'))];
}

/** Attempts at a fresh schedule id before giving up (5 characters of 30: a clash is rare, never silent). */
const ID_ATTEMPTS = 5;

/**
 * /schedule as one person in one channel: adding and removing need schedule.manage (and the posts then run as that
 * person, so their host scope applies at every tick); each change is audited.
 */
export function scheduleAccess(
  deps: ScheduleAccessDeps,
  me: Person,
  here: { platform: Platform; channelId: string },
  auditBase: Omit<AuditEntry, 'event'>,
): ScheduleAccess {
  const { config, book } = deps;
  const mayManage = authorize(config, me, MANAGE, {}).allowed;
  const notAllowed = () => reply.notAllowed(`${me.id || 'you'} may not add or remove schedules: needs permission ${MANAGE}`);
  // A schedule about a host (`top xen1`) is seen and removed only by those in scope there: nothing about other hosts.
  const reads = (spec: Pick<ScheduleSpec, 'what' | 'host'>) =>
    !spec.host || authorize(config, me, `host.${spec.what}`, { host: spec.host }).allowed;
  // Adding or removing a schedule needs schedule.manage on what it posts about: its host, or every host for one about
  // the whole fleet (a manager of xen2's schedules does not take away a status post that covers xen1 too).
  const outsideManage = (host: string | null): string | null => {
    if (host)
      return authorize(config, me, MANAGE, { host }).allowed
        ? null
        : `${me.id} may not manage schedules about ${host}: needs permission ${MANAGE} on ${host}`;
    return Object.keys(config.hosts).every((h) => authorize(config, me, MANAGE, { host: h }).allowed)
      ? null
      : `${me.id} may not manage schedules about the whole fleet: needs permission ${MANAGE} on every host`;
  };
  return {
    // The hosts named back to this person (`no host named xen9 (hosts: …)`): the ones a `top` may read.
    hosts: Object.keys(config.hosts).filter((host) => authorize(config, me, 'host.top', { host }).allowed),
    async add(input): Promise<Reply> {
      if (!mayManage) return notAllowed();
      const channel = { platform: here.platform, id: input.channelId ?? here.channelId };
      // Posts go only where the config lets xenops talk, and only what it lets be run there.
      const refused = channelRefusesPost(config, channel, input.what);
      if (refused) return reply.notAllowed(refused);
      if (input.host && !authorize(config, me, `host.${input.what}`, { host: input.host }).allowed)
        return reply.notAllowed(`${me.id} may not read ${input.host}`);
      // Removing it needs schedule.manage on what it is about: so does adding it, or its owner could not take it back.
      const outside = outsideManage(input.host);
      if (outside) return reply.notAllowed(outside);
      // The posts run as this person: one who may not run the command anywhere would get "Not allowed" at every tick.
      if (!authorize(config, me, `host.${input.what}`, input.host ? { host: input.host } : {}).allowed)
        return reply.notAllowed(`${me.id} may not run /${input.what}: needs permission host.${input.what}`);
      // The same posts again in the same channel: each would come twice, and count twice against the platform's rate
      // limits. Refused as a request waiting for approval is ("already waiting"), naming the one there; another
      // interval or another mode is another schedule.
      const twin = (await book.list()).find((s) => sameSchedule(s, { ...input, channel }));
      if (twin)
        return {
          ...reply.error(
            'Already scheduled',
            `schedule ${twin.id} posts ${describeWhat(twin)} ${describeWhen(twin.when)} in ${where(channel)}${twin.mode === 'edit' ? ', editing one message' : ''}, as ${twin.owner}: the same posts would come twice. To replace it, remove it first:`,
            `/schedule remove ${twin.id}`,
          ),
          refused: true,
        };
      let spec: ScheduleSpec = {
        id: newScheduleId(),
        what: input.what,
        host: input.host,
        when: input.when,
        channel,
        mode: input.mode,
        owner: me.id,
        source: 'chat',
        createdAt: Date.now(),
      };
      // A new id never replaces someone else's schedule.
      for (let attempt = 1; !(await book.create(spec)); attempt++) {
        if (attempt >= ID_ATTEMPTS) return reply.error('Cannot add the schedule', 'no free schedule id was found; try again');
        spec = { ...spec, id: newScheduleId() };
      }
      const next = (await book.list()).find((s) => s.id === spec.id)?.next ?? null;
      await deps.audit({
        ...auditBase,
        event: 'decision',
        decision: 'allowed',
        detail: `schedule ${spec.id} added: ${describeWhat(spec)} ${describeWhen(spec.when)} in ${where(channel)}`,
      });
      // BullMQ runs an `every` scheduler's first job at once, whatever the interval.
      const now = 'every' in spec.when;
      const added = reply.result(`Schedule ${spec.id} added`, [
        reply.text(
          `${describeWhat(spec)} ${describeWhen(spec.when)} in ${where(channel)}${spec.mode === 'edit' ? ', editing one message' : ''}, as ${me.id}; ${
            now ? 'the first post comes now' : `next run ${when(next, deps.now())}`
          }.`,
        ),
        reply.text('To stop it:'),
        reply.code(`/schedule remove ${spec.id}`),
      ]);
      // Said to come now, so a script that ends here waits for it; a cron schedule's next run is later.
      return now ? { ...added, due: [{ key: schedulePostKey(spec.id), what: `the first post of schedule ${spec.id}` }] } : added;
    },
    async list(): Promise<Reply> {
      const rows = (await book.list()).filter(reads);
      if (rows.length === 0)
        return reply.result('No schedules', [reply.text('Add one with /schedule add status every 1h')], { tone: 'info' });
      const now = deps.now();
      return reply.result(
        `${rows.length} schedule${rows.length === 1 ? '' : 's'}`,
        [
          ...notPosting(config, rows),
          reply.table({
            columns: ['id', 'what', 'when', 'where', 'next run', 'owner'],
            rows: rows.map((s) => [
              s.id,
              describeWhat(s),
              describeWhen(s.when),
              `${where(s.channel)}${s.mode === 'edit' ? ' (edit)' : ''}`,
              when(s.next, now),
              s.source === 'config' ? `${s.owner} (config)` : s.owner,
            ]),
          }),
        ],
        { tone: 'info' },
      );
    },
    async remove(id): Promise<Reply> {
      if (!mayManage) return notAllowed();
      const spec = await book.get(id);
      // One this person cannot read is not told of; one /schedule list shows them is not denied to exist.
      if (!spec || !reads(spec))
        return reply.error('No such schedule', `no schedule ${JSON.stringify(id.slice(0, 20))}: see /schedule list`);
      const outside = outsideManage(spec.host);
      if (outside) return reply.notAllowed(outside);
      if (spec.source === 'config')
        return reply.error('Defined in the config', `${id} comes from the config file: remove it there (it goes at the next bot start)`);
      await book.remove(id);
      await deps.audit({
        ...auditBase,
        event: 'decision',
        decision: 'allowed',
        detail: `schedule ${id} removed (${describeWhat(spec)} ${describeWhen(spec.when)})`,
      });
      return reply.result(`Schedule ${id} removed`, [
        reply.text(`${describeWhat(spec)} ${describeWhen(spec.when)} in ${where(spec.channel)}: no more posts.`),
      ]);
    },
  };
}

/** Whether two schedules make the same posts in the same channel (whoever owns them, whatever their ids). */
function sameSchedule(
  a: Pick<ScheduleSpec, 'what' | 'host' | 'when' | 'channel' | 'mode'>,
  b: Pick<ScheduleSpec, 'what' | 'host' | 'when' | 'channel' | 'mode'>,
): boolean {
  const sameWhen =
    'every' in a.when
      ? 'every' in b.when && a.when.every === b.when.every
      : 'cron' in b.when && a.when.cron === b.when.cron && a.when.tz === b.when.tz;
  return (
    a.what === b.what &&
    a.host === b.host &&
    a.mode === b.mode &&
    sameWhen &&
    a.channel.platform === b.channel.platform &&
    a.channel.id === b.channel.id
  );
}
