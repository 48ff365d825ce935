import { describe, expect, it } from 'vitest';
import type { ChannelPolicy } from '../../config/schema.ts';
import { MovedChats } from './moved-chats.ts';

const channels: ChannelPolicy[] = [
  { platform: 'telegram', id: '-4400000001' },
  { platform: 'telegram', id: '-4400000002' },
  { platform: 'telegram', id: '-1004400000003' },
];

describe('which listed basic groups Telegram is asked about', () => {
  it('asks about a group whose ask failed for a passing reason again only from the time given, never after a final answer', () => {
    const moved = new MovedChats(() => channels);
    expect(moved.groupsToAsk(0)).toEqual(['-4400000001', '-4400000002']);
    moved.askFailed('-4400000001', 60_000);
    moved.askAnswered('-4400000002');
    expect(moved.groupsToAsk(1_000)).toEqual([]);
    expect(moved.groupsToAsk(59_999)).toEqual([]);
    expect(moved.groupsToAsk(60_000)).toEqual(['-4400000001']);
    expect(moved.groupsToAsk(10_000_000)).toEqual(['-4400000001']);
    moved.record('-4400000001', '-1004400000001');
    expect(moved.groupsToAsk(10_000_000)).toEqual([]);
    // A new start: a group answered "still a group" may have been upgraded while the bot was stopped.
    moved.forgetAsks();
    expect(moved.groupsToAsk(0)).toEqual(['-4400000002']);
  });
});
