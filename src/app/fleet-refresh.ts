import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';
import { type Heartbeats, livenessOf } from '../queue/coordination.ts';
import { jobIdFor } from '../queue/names.ts';
import { noAgentMessage } from './dispatch.ts';
import type { JobQueues } from './job-queues.ts';

export interface RefreshDeps {
  config: Config;
  queues: JobQueues;
  heartbeats: Heartbeats;
  /** Resolves when the job finished (the relay applies its result to the fleet cache). */
  awaitJob: (jobId: string, timeoutMs: number) => Promise<boolean>;
  logger: Logger;
}

/**
 * Asks hosts for their domain lists (lookups with a cold cache, and the periodic refresh). Hosts with no live
 * agent are not asked: they are reported, so a lookup can say "no agent serves xen1" instead of "no such domain".
 */
export class FleetRefresher {
  private counter = 0;

  constructor(
    private readonly deps: RefreshDeps,
    private readonly instance: string,
  ) {}

  async refresh(hosts: readonly string[], waitMs: number): Promise<{ unanswered: { host: string; message: string }[] }> {
    const now = Date.now();
    const beats = await this.deps.heartbeats.all();
    const stamp = `fleet-${this.instance}-${now}-${++this.counter}`;
    const unanswered: { host: string; message: string }[] = [];
    await Promise.all(
      hosts.map(async (host) => {
        if (!livenessOf(beats[host], now, this.deps.config.bot.agentStaleMs).alive) {
          unanswered.push({ host, message: noAgentMessage(host, beats[host], now) });
          return;
        }
        const jobId = jobIdFor(stamp, host);
        const done = this.deps.awaitJob(jobId, waitMs);
        await this.deps.queues.add(
          {
            op: 'domain.list',
            host,
            meta: { requestId: stamp, person: 'xenops', platform: 'system', userId: 'xenops', channelId: 'system', command: 'list' },
          },
          jobId,
        );
        if (!(await done)) unanswered.push({ host, message: `${host} did not answer within ${Math.round(waitMs / 1000)} s` });
      }),
    );
    return { unanswered };
  }
}
