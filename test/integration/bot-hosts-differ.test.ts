import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBot } from '../../src/app/bot.ts';
import type { Config } from '../../src/config/schema.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { HaScene } from '../helpers/ha-scene.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { quietLogger } from '../helpers/sim.ts';

/**
 * Bots on one prefix must have the same hosts (README, High availability): each recovers every pending request, and
 * one without a host withdraws the jobs waiting there — another bot's too. A bot started with other hosts than a
 * running bot's was let in without a word; it is refused at start, naming the hosts that differ.
 */

let scene: HaScene;
beforeAll(async () => {
  scene = await HaScene.start();
}, 60_000);
afterAll(async () => {
  await scene?.stop();
});

function withHosts(config: Config, names: string[]): Config {
  return { ...config, hosts: Object.fromEntries(Object.entries(config.hosts).filter(([h]) => names.includes(h))) };
}

it('a bot whose hosts differ from a running bot of its prefix is refused at start, the difference named', async () => {
  const { config } = await scene.prefixWithAgent();
  expect(Object.keys(config.hosts).sort()).toEqual(['xen1', 'xen2']);
  const first = await scene.bot(config, [new CaptureAdapter('terminal')]);

  const other = await createBot({
    config: withHosts(config, ['xen1']),
    redis: REDIS_URL,
    logger: quietLogger,
    adapters: [new CaptureAdapter('terminal')],
  });
  try {
    await expect(other.start()).rejects.toThrow(
      /another bot on this prefix serves other hosts: it has xen2, which this config lacks; bots on one prefix must have the same hosts/,
    );
  } finally {
    await other.stop();
  }

  // The same hosts are let in; and once the first bot has stopped, its hosts no longer hold a new bot back.
  const same = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [new CaptureAdapter('terminal')] });
  await same.start();
  await same.stop();
  await first.stop();
  const changed = await createBot({
    config: withHosts(config, ['xen1']),
    redis: REDIS_URL,
    logger: quietLogger,
    adapters: [new CaptureAdapter('terminal')],
  });
  try {
    await changed.start();
  } finally {
    await changed.stop();
  }
}, 60_000);
