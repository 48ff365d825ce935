import { describe, expect, it } from 'vitest';
import { SilentConnection } from './silent-connection.ts';

const timedOut = () => new Error('Command timed out');

describe('SilentConnection', () => {
  it('says how long once commands have only timed out for silentMs since the first was sent, then counts again', () => {
    const silence = new SilentConnection(60_000);
    // Sent every 10 s, each timing out 10 s later: overlapping, as a periodic write on a silent connection does.
    for (let sent = 0; sent < 50_000; sent += 10_000) expect(silence.failed(timedOut(), sent, sent + 10_000)).toBeNull();
    expect(silence.failed(timedOut(), 50_000, 60_000)).toBe(60_000);
    expect(silence.failed(timedOut(), 60_000, 70_000)).toBeNull();
  });

  it('an answer, or any other error, in between starts the count again', () => {
    const silence = new SilentConnection(20_000);
    expect(silence.failed(timedOut(), 0, 10_000)).toBeNull();
    silence.answered();
    expect(silence.failed(timedOut(), 15_000, 25_000)).toBeNull();
    expect(silence.failed(new Error('Connection is closed.'), 20_000, 30_000)).toBeNull();
    expect(silence.failed(timedOut(), 30_000, 40_000)).toBeNull();
    expect(silence.failed(timedOut(), 40_000, 50_000)).toBe(20_000);
  });
});
