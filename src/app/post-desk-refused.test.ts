import { describe, expect, it } from 'vitest';
import type { ReplyTarget } from '../adapters/types.ts';
import { Config } from '../config/schema.ts';
import { createLogger } from '../core/log.ts';
import { type Reply, reply } from '../core/reply.ts';
import { sparklineText } from './charts.ts';
import { PostDesk } from './post-desk.ts';

const config = Config.parse({ hosts: { xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });

/**
 * An `edit` schedule's message: the adapters already post anew when it was deleted (Telegram's "message to edit not
 * found", Discord's Unknown Message) and throw only for what they could not do (a network failure, a 5xx, a rate
 * limit past its retries). Posting a new message then leaves the old one pinned with a status nobody updates.
 */
describe('PostDesk.deliverPost', () => {
  it('GIVEN an edit that fails for a reason other than a deleted message THEN no second message is posted', async () => {
    const sent: ReplyTarget[] = [];
    const desk = new PostDesk({
      redis: null as never,
      prefix: 'unused',
      config,
      history: async () => ({}),
      chart: async () => new Uint8Array(),
      sparkline: (host, points, now) => sparklineText(host, points, { now }),
      pin: async () => true,
      deliverOrThrow: async (target: ReplyTarget, _r: Reply) => {
        sent.push(target);
        if (target.state['messageId'] !== undefined) throw new Error('502 Bad Gateway');
        return { ...target, state: { messageId: 99 } };
      },
      clock: { now: () => 0 } as never,
      logger: createLogger('silent'),
    });
    const pinned: ReplyTarget = { platform: 'telegram', channelId: '-100', requestId: 'sched-S1-2', state: { messageId: 42 } };
    await expect(desk.deliverPost(pinned, reply.result('Fleet status'))).rejects.toThrow('502 Bad Gateway');
    // Only the edit of message 42 was tried: the next tick edits it again.
    expect(sent.map((t) => t.state['messageId'] ?? null)).toEqual([42]);
  });
});
