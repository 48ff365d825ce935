import { describe, expect, it } from 'vitest';
import { status } from '../../commands/status.ts';
import { redisPrefix } from '../../test/helpers/redis-prefix.ts';
import { answered, NOW } from '../../test/helpers/status-outcomes.ts';
import { Config } from '../config/schema.ts';
import type { HostOutcome } from '../core/define-command.ts';
import { createLogger } from '../core/log.ts';
import type { DomainStatus } from '../core/xen.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import type { PendingRequest } from './pending-store.ts';
import { PostDesk } from './post-desk.ts';
import { scheduleBookKey } from './schedules.ts';

/**
 * A scheduled status post after `/migrate mail xen2` and `/stop mail` (it ran on xen2): the agents' fleet events of
 * both are in Redis, and the post reads them, not only its two snapshots (which show mail stopped where it was).
 */
const { redis, prefix } = redisPrefix();
const key = `SCHG01`;
const LAST = NOW - 60_000;
const config = Config.parse({ hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });

function host(name: string, guests: Record<string, DomainStatus>): HostOutcome<'host.status'> {
  const domains = Object.entries(guests).map(([g, s]) => ({ name: g, uuid: `u-${g}`, status: s, memoryMiB: 1024 }));
  const domainsByStatus: Partial<Record<DomainStatus, number>> = {};
  for (const g of domains) domainsByStatus[g.status] = (domainsByStatus[g.status] ?? 0) + 1;
  return answered(name, { domains, domainsByStatus });
}

const desk = (now: number) =>
  new PostDesk({
    redis,
    prefix,
    config,
    history: async () => ({}),
    chart: async () => new Uint8Array([1]),
    sparkline: () => '',
    pin: async () => true,
    deliverOrThrow: async (t) => t,
    clock: { now: () => now } as never,
    logger: createLogger('silent'),
  });

const tick = (at: number): PendingRequest =>
  ({
    requestId: `sched-${key}-${at}`,
    command: 'status',
    args: {},
    target: { platform: 'terminal', channelId: 'c', requestId: `sched-${key}-${at}`, state: {} },
    mode: 'parallel',
    jobs: [],
    schedule: { id: key, mode: 'post' },
  }) as unknown as PendingRequest;

const lastPost = [host('xen1', { mail: 'running' }), host('xen2', { files: 'running' })];
const thisPost = [host('xen1', { mail: 'defined' }), host('xen2', { files: 'running', mail: 'defined' })];

async function changesOfThisPost(
  now: HostOutcome<'host.status'>[] = thisPost,
  mayName: ((host: string, domain: string) => boolean) | null = null,
): Promise<string> {
  // The last post, recorded as the desk records it (a schedule in the book: one removed has its records deleted).
  await redis.hset(scheduleBookKey(prefix), key, '{}');
  await desk(LAST).afterDelivery(tick(LAST), status as never, lastPost as never, tick(LAST).target);
  const { ctx } = await desk(NOW).prepare(tick(NOW), status as never, now as never, mayName);
  const first = status.render(now, {}, ctx).blocks[0];
  return first?.type === 'text' ? first.text : '';
}

describe('a scheduled status post after a migration and a stop', () => {
  it('GIVEN the fleet events of mail migrated xen1 → xen2 and stopped there THEN the post says both, the stop on xen2', async () => {
    const log = new FleetEventLog(redis, prefix);
    await log.append({
      kind: 'domain.migrated',
      host: 'xen2',
      from: 'xen1',
      domain: 'mail',
      uuid: 'u-mail',
      byXenops: true,
      at: LAST + 10_000,
    });
    await log.append({ kind: 'domain.stopped', host: 'xen2', domain: 'mail', uuid: 'u-mail', byXenops: true, at: LAST + 20_000 });
    expect(await changesOfThisPost()).toBe(
      'Changes since the last post (11:59:00 UTC):\n⇄ mail migrated xen1 → xen2\n▼ mail stopped on xen2',
    );
  });

  it('GIVEN no fleet events (no sampler) THEN the post does not say "stopped on xen1", only that mail runs no more', async () => {
    expect(await changesOfThisPost()).toBe('Changes since the last post (11:59:00 UTC):\n▼ mail no longer running (was on xen1)');
  });
});

describe('a scheduled status post, to a person who may not see mail on xen2', () => {
  it('GIVEN mail migrated there and stopped THEN neither "stopped on xen1" nor xen2 is said: only that it left xen1', async () => {
    const log = new FleetEventLog(redis, prefix);
    await log.append({
      kind: 'domain.migrated',
      host: 'xen2',
      from: 'xen1',
      domain: 'mail',
      uuid: 'u-mail',
      byXenops: true,
      at: LAST + 10_000,
    });
    await log.append({ kind: 'domain.stopped', host: 'xen2', domain: 'mail', uuid: 'u-mail', byXenops: true, at: LAST + 20_000 });
    const mayName = (h: string, d: string) => !(h === 'xen2' && d === 'mail');
    // Their view, as the relay scopes it: xen2 without mail.
    const seen = [host('xen1', { mail: 'defined' }), host('xen2', { files: 'running' })];
    expect(await changesOfThisPost(seen, mayName)).toBe(
      'Changes since the last post (11:59:00 UTC):\n▼ mail no longer running (was on xen1)',
    );
  });
});
