import { describe, expect, it } from 'vitest';
import { withTimeout } from './with-timeout.ts';

describe('withTimeout', () => {
  it('gives the promise’s outcome when it settles in time', async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000, 'late')).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('boom')), 1_000, 'late')).rejects.toThrow('boom');
  });

  it('rejects with the message when it does not', async () => {
    await expect(withTimeout(new Promise(() => {}), 10, 'no answer within 10 ms')).rejects.toThrow('no answer within 10 ms');
  });
});
