import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { JobQueues } from '../../src/app/job-queues.ts';
import { createLogger } from '../../src/core/log.ts';
import type { JobData } from '../../src/queue/jobs.ts';
import { clusterWithBotClient } from '../helpers/redis-cluster.ts';

/**
 * JobQueues.add on a three-master Redis Cluster after the master that owns the prefix's slot forgot its scripts
 * (SCRIPT FLUSH; a failover to a replica that never loaded them). The add reloads its scripts and sends its MULTI
 * again: the reload must reach that master, not whichever node a keyless SCRIPT LOAD lands on.
 */
// The prefix's slot is not the seed's (a client not in cluster mode would be told MOVED); the client is made as
// BullConnection makes the bot's shared BullMQ client on a Cluster.
const scene = clusterWithBotClient({ redis: { maxRetriesPerRequest: null } });
const logger = createLogger('info', new Writable({ write: (_chunk, _enc, done) => done() }));
const meta = { requestId: 'q-1', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'terminal', command: 'list' };
const job = (host: string): JobData => ({ op: 'domain.list', host, meta }) as JobData;

describe('JobQueues on a Redis Cluster', () => {
  it('goes on adding after the master owning the prefix forgot its scripts (SCRIPT FLUSH), every time', async () => {
    const { cluster, prefix, redis: client } = scene;
    const queues = new JobQueues(['h1'], client, prefix, logger);
    const owner = cluster.node((await cluster.ownerOf(prefix)).index);
    try {
      await queues.add([{ data: job('h1'), jobId: 'r-0-h1' }]);
      // A keyless SCRIPT LOAD goes to a random master (1 in 3 the owner): several rounds, so luck does not pass it.
      for (let round = 1; round <= 6; round++) {
        await owner.script('FLUSH');
        await queues.add([{ data: job('h1'), jobId: `r-${round}-h1` }], (tx) => tx.set(`${prefix}:probe-${round}`, 'saved'));
        expect(await client.get(`${prefix}:probe-${round}`)).toBe('saved');
        expect((await queues.job('h1', `r-${round}-h1`))?.data).toEqual(job('h1'));
      }
      expect(await queues.get('h1')?.getJobCounts('waiting')).toEqual({ waiting: 7 });
    } finally {
      await queues.close();
    }
  });
});
