import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { scheduleQueueName } from '../../src/app/schedules.ts';
import { FakeTelegram } from '../helpers/fake-telegram/server.ts';
import type { ProcessHandle, ProcessHarness } from '../helpers/processes.ts';
import { startRun } from './support.ts';

const CHAT = -1001234;

/**
 * Scheduled posts with the real processes: two bot replicas on one Redis take the ticks of one schedule, and each
 * tick is posted exactly once (posts counted on the fake Telegram, ticks counted in BullMQ); stopped and restarted,
 * the schedule goes on.
 */
describe.runIf(process.env['XENOPS_FAULT_TESTS'] === '1')('scheduled posts across bot replicas', () => {
  let h: ProcessHarness | null = null;
  let fake: FakeTelegram | null = null;
  afterEach(async () => {
    await h?.stopAll();
    await fake?.stop();
    h = null;
    fake = null;
  });

  it('two bots post each tick once, and a restarted bot keeps posting', async () => {
    fake = new FakeTelegram('123456789:AAtestTOKENtestTOKENtestTOKENtest00');
    await fake.start();
    const run = await startRun({
      edits: { 'schedules.board': { what: 'status', every: '5s', channel: { platform: 'telegram', id: CHAT }, as: 'alice' } },
    });
    h = run.h;
    const env = { TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_ROOT: fake.apiRoot };
    const bots: ProcessHandle[] = [];
    for (let i = 0; i < 2; i++) bots.push(await run.h.startBot({ adapters: ['--telegram'], env }));
    const tg = fake;
    const isPost = (m: { chatId: number; text: string }) => m.chatId === CHAT && m.text.includes('Fleet status');
    const posts = () => [...tg.messages.values()].filter(isPost);
    const waitForPosts = (n: number) => tg.waitForMessage(isPost, n);
    await waitForPosts(3);

    const queue = new Queue(scheduleQueueName('telegram'), { connection: { url: run.h.redisUrl }, prefix: run.h.prefix });
    try {
      // Stop both bots (the tick in flight finishes or goes back), then compare what was posted with what ran.
      for (const b of bots) b.kill('SIGTERM');
      await Promise.all(bots.map((b) => b.exited));
      const counts = await queue.getJobCounts('completed', 'failed');
      expect(counts['failed']).toBe(0);
      expect(posts()).toHaveLength(counts['completed'] ?? -1);
      // Each post is a new message (mode post): no tick edited another's message.
      expect(new Set(posts().map((m) => m.messageId)).size).toBe(posts().length);

      // Restarted, the schedule is still there and posts again.
      const before = posts().length;
      await run.h.startBot({ adapters: ['--telegram'], env });
      await waitForPosts(before + 1);
      expect(posts().at(-1)?.text).toMatch(/Changes since the last post|No changes since the last post/);
    } finally {
      await queue.close();
    }
  }, 120_000);
});
