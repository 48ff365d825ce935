import { SplitBrainWatch } from '../../src/app/split-brain-watch.ts';
import type { FleetEvent } from '../../src/queue/fleet-events.ts';
import type { SamplerScene } from './sampler.ts';
import { quietLogger } from './sim.ts';

/**
 * The split-brain watch over the scene's samples of `hosts`, checked once every host has a sample, then after each of
 * the next three samples of every host (a guest running twice is said on a check, so several samples get the chance):
 * the domain.running-twice events it said. The bot's fleet view is taken to know no guest by the sampled names
 * (uuidOf null), as for a name xentop cut that no guest has.
 */
export async function runningTwiceSaid(scene: SamplerScene, hosts: string[]): Promise<FleetEvent[]> {
  const watch = new SplitBrainWatch({
    hosts,
    samples: scene.samples,
    events: scene.events,
    uuidOf: () => null,
    intervalMs: 1_000,
    repeatMs: 60_000,
    logger: quietLogger,
  });
  let seen = await scene.laterSamples(Object.fromEntries(hosts.map((h) => [h, 0])));
  for (let i = 0; i < 3; i++) {
    await watch.check();
    seen = await scene.laterSamples(seen);
  }
  await watch.check();
  return (await scene.events.since(0)).filter((e) => e.kind === 'domain.running-twice');
}
