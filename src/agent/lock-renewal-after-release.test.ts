import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger, type SimEnv, startSimEnv, twoHostFleet } from '../../test/helpers/sim.ts';
import { testConfig } from '../../test/integration/agent-support.ts';
import { DomainLocks, Journal } from '../queue/coordination.ts';
import { processJob } from './process.ts';
import type { SshPool } from './ssh/pool.ts';
import { XenToolstack } from './toolstack/driver.ts';

/**
 * A lock renewal still in flight when the job ends. Redis lost the lock meanwhile (a restart without its data, a
 * flush), so the renewal finds nothing and takes the lock again — after the job's release has gone out: the domain
 * would stay "busy" with a finished request for a whole TTL. Real Redis, simulator and SSH client; the renewal is
 * caught in flight by pausing Redis's writes (CLIENT PAUSE), as a slow or reconnecting Redis holds it.
 */
let env: SimEnv;
let pool: SshPool;
let prefix: string;
let redis: Redis;
let admin: Redis;

/** The real locks, saying when a renewal is sent; Redis's writes resume once the release is sent too. */
class WatchedLocks extends DomainLocks {
  private renewed: (() => void) | null = null;
  onRelease: (() => void) | null = null;
  nextRenewal(): Promise<void> {
    return new Promise((resolve) => {
      this.renewed = resolve;
    });
  }
  override async renew(domain: string, requestId: string, ttlMs: number): Promise<boolean> {
    const sent = super.renew(domain, requestId, ttlMs);
    this.renewed?.();
    this.renewed = null;
    return sent;
  }
  override async release(domain: string, requestId: string): Promise<boolean> {
    const sent = super.release(domain, requestId);
    this.onRelease?.();
    return sent;
  }
}

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet() });
  pool = env.pool();
  prefix = uniquePrefix();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  admin = new Redis(REDIS_URL);
}, 30_000);
afterAll(async () => {
  await admin?.client('UNPAUSE');
  admin?.disconnect();
  redis?.disconnect();
  await pool?.close();
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('a lock renewal in flight when the job ends', () => {
  it('does not take back the lock the job has just released', async () => {
    const config = testConfig(env, prefix);
    const locks = new WatchedLocks(redis, prefix);
    const h = config.hosts['xen1'];
    if (!h) throw new Error('no xen1');
    const toolstack = new XenToolstack(
      'xl',
      pool,
      { name: 'xen1', configDirs: h.configDirs, consoleLogDir: h.consoleLogDir, shutdownTimeoutSeconds: h.shutdownTimeoutSeconds },
      { readBack: { attempts: 10, delayMs: 30 }, pollMs: 50, resumeWaitMs: 2000 },
    );
    const since = env.sim.log.lastSeq;
    const result = await processJob(
      {
        id: 'renewal-1',
        attemptsStarted: 1,
        data: {
          op: 'domain.pause',
          host: 'xen1',
          domain: 'web',
          meta: { requestId: 'r-renewal-1', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'tty', command: 'pause' },
        },
        onProgress: undefined,
      },
      {
        handler: { config, toolstack: async () => toolstack },
        journal: new Journal(redis, prefix),
        locks,
        lockPolicy: { ttlMs: 30_000, renewMs: 20 },
        logger: quietLogger,
        handingBack: () => false,
        // Runs after the command, right before the lock is let go: Redis loses the lock, and the next renewal is
        // caught in flight, ahead of the release.
        markMutation: async () => {
          await admin.del(locks.key('web'));
          await admin.client('PAUSE', 2000, 'WRITE');
          await locks.nextRenewal();
          locks.onRelease = () => void admin.client('UNPAUSE');
        },
      },
    );
    expect(result).toMatchObject({ outcome: 'paused' });
    expect(env.sim.log.query({ host: 'xen1', since, match: /xl pause/ })).toHaveLength(1);
    // Asked on the connection the renewal used, after anything it sent.
    expect(await locks.holder('web')).toBeNull();
  });
});
