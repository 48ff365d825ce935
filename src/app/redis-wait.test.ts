import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisRefusal } from './redis-wait.ts';

/** Redis's replies as ioredis hands them over: a ReplyError with the server's text (see the fault test for the real thing). */
function replyError(message: string, previousErrors?: Error[]): Error {
  const e = new ReplyError(message) as Error & { previousErrors?: Error[] };
  if (previousErrors) e.previousErrors = previousErrors;
  return e;
}

describe('redisRefusal', () => {
  it("names Redis's refusals in xenops' words, also when a script quotes them", () => {
    const oom = redisRefusal(replyError("OOM command not allowed when used memory > 'maxmemory'. script: f1dd, on @user_script:7."));
    expect(oom?.title).toBe('Redis is full');
    expect(oom?.why).toMatch(/maxmemory/);
    expect(oom?.why).not.toMatch(/OOM|user_script/);
    // Redis 6 wraps a script's error in its own.
    expect(
      redisRefusal(
        replyError("ERR Error running script (call to f_1e9b): @user_script:12: -READONLY You can't write against a read only replica."),
      )?.title,
    ).toBe('Redis is read-only');
    expect(
      redisRefusal(replyError('MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.'))
        ?.title,
    ).toBe('Redis refuses writes');
    expect(redisRefusal(replyError('LOADING Redis is loading the dataset in memory'))?.title).toBe('Redis is starting');
    expect(redisRefusal(replyError("NOPERM User xenops has no permissions to run the 'evalsha' command"))?.title).toBe(
      'Redis refused xenops',
    );
  });

  it('a MULTI discarded whole is named by the refusal that made Redis discard it', () => {
    const abort = replyError('EXECABORT Transaction discarded because of previous errors.', [
      replyError("OOM command not allowed when used memory > 'maxmemory'."),
    ]);
    expect(redisRefusal(abort)?.title).toBe('Redis is full');
    // Discarded for another reason (a wrong command): not a refusal of the server's.
    expect(
      redisRefusal(replyError('EXECABORT Transaction discarded because of previous errors.', [replyError("ERR unknown command 'NOPE'")])),
    ).toBeNull();
  });

  it('anything else is not one: errors of ours, other replies, and a transaction that failed only as it ran', () => {
    expect(redisRefusal(new Error("OOM command not allowed when used memory > 'maxmemory'."))).toBeNull();
    expect(redisRefusal(replyError('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBeNull();
    // A code quoted from a key or an argument (which can hold chat text) is not Redis's refusal.
    expect(redisRefusal(replyError("NOPERM User xenops has no permissions to access the '{x}:lock:READONLY' key"))?.title).toBe(
      'Redis refused xenops',
    );
    expect(redisRefusal(replyError("ERR unknown command 'x', with args beginning with: 'LOADING' 'OOM command not allowed'"))).toBeNull();
    expect(redisRefusal(replyError('ERR Error running script: @user_script:3: user_script:3: domain READONLY not found'))).toBeNull();
    expect(redisRefusal('OOM command not allowed')).toBeNull();
    expect(redisRefusal(null)).toBeNull();
  });
});
