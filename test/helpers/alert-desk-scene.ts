import { AlertDesk } from '../../src/app/alert-desk.ts';
import { Config } from '../../src/config/schema.ts';
import type { Logger } from '../../src/core/log.ts';
import type { RedisClient, RedisTarget } from '../../src/queue/redis-connection.ts';
import { quietLogger } from './sim.ts';

/** The config of an AlertDesk under test: host xen1, admin alice, alerts to the terminal channel `alerts` (15 min cool-down). */
export const alertDeskConfig = Config.parse({
  hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } },
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
  alerts: { channels: [{ platform: 'terminal', id: 'alerts' }], cooldownMinutes: 15 },
});

/**
 * Awaits what a desk did without polling: the test calls `wake()` whenever something it checks may have changed (a post,
 * a log line), and `until(check, ms, what)` settles once the check holds, or fails after `ms` naming what it waited
 * for and what was `posted` by then.
 */
export function deskWaiter(posted: readonly unknown[]) {
  const waiters: { check: () => boolean; resolve: () => void }[] = [];
  const wake = () => {
    for (const w of waiters.filter((x) => x.check())) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const until = (check: () => boolean, ms: number, what: string) =>
    check()
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`timed out after ${ms} ms waiting for ${what}; posted: ${JSON.stringify(posted)}`)),
            ms,
          );
          waiters.push({
            check,
            resolve: () => {
              clearTimeout(timer);
              resolve();
            },
          });
        });
  return { wake, until };
}

/**
 * A desk (not started) of bot-a on the terminal, with {@link alertDeskConfig}: its reader on `target` (a proxy's url,
 * to cut it off), cool-down keys on `redis`. Each post runs `beforePost` first, then adds its title to `posted` and
 * calls `wake` (of a {@link deskWaiter} on `posted`).
 */
export function alertDesk(o: {
  target: RedisTarget;
  redis: RedisClient;
  prefix: string;
  posted: string[];
  wake: () => void;
  beforePost?: () => void;
  logger?: Logger;
}): AlertDesk {
  return new AlertDesk({
    config: alertDeskConfig,
    target: o.target,
    redis: o.redis,
    prefix: o.prefix,
    instance: 'bot-a',
    platforms: new Set(['terminal']),
    post: async (_platform, _channel, r) => {
      o.beforePost?.();
      o.posted.push(r.title);
      o.wake();
    },
    logger: o.logger ?? quietLogger,
  });
}
