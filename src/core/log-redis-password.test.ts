import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateRedis, startPrivateRedis } from '../../test/helpers/redis-server.ts';
import { Config } from '../config/schema.ts';
import { registerConfigSecrets } from '../config/secrets.ts';
import { createRedisClient } from '../queue/redis-connection.ts';
import { createLogger } from './log.ts';

const RIGHT = 'right-Redis-pass-4k9q2';
// Percent-encoded in the URL (`%40`), as an operator must write an @ in a URL's password: ioredis sends it decoded.
const WRONG = 'wrong-Redis@pass-7x3m8';
const HOSTS = { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s' } };

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('info', sink), text: () => lines.join('') };
}

/** What a command gets back from a client of this config's Redis URL (no retries: the first failure). */
async function failureOf(url: string): Promise<Error> {
  const client = createRedisClient(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await client.get('xenops-test-never-read');
  } catch (error) {
    return error as Error;
  } finally {
    client.disconnect();
  }
  throw new Error('the command did not fail');
}

/**
 * ioredis keeps the password it sent in the error of a refused AUTH (`err.command.args`), and rejects every queued
 * command with that error: the stray-error handlers (`{ err: reason }`) and anything wrapping it as a cause write the
 * error object whole. The password in the config's Redis URL is a secret like the others, wherever it turns up.
 */
describe('a Redis password in an error logged whole', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis({ password: RIGHT });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('is not written, for a refused password with or without a user, the error alone or as a cause', async () => {
    const url = `redis://:${encodeURIComponent(WRONG)}@127.0.0.1:${redis.port}`;
    const withUser = `redis://xenops:${encodeURIComponent(`${WRONG}-user`)}@127.0.0.1:${redis.port}`;
    registerConfigSecrets(Config.parse({ redis: { url }, hosts: HOSTS }));
    registerConfigSecrets(Config.parse({ redis: { url: withUser }, hosts: HOSTS }));
    const refused = await failureOf(url);
    const refusedUser = await failureOf(withUser);
    // What is at stake: ioredis's own error carries the password, bare (not in a URL).
    expect(JSON.stringify(refused)).toContain(WRONG);
    expect(JSON.stringify(refusedUser)).toContain(`${WRONG}-user`);

    const { logger, text } = capture();
    logger.error({ err: refused }, 'unhandled rejection (kept running)');
    logger.error(refusedUser);
    logger.warn({ err: new Error(`a command failed: ${refused.message}`, { cause: refused }) }, 'wrapped');
    expect(text()).toMatch(/WRONGPASS/);
    expect(text()).not.toContain(WRONG);
    expect(text()).not.toContain(encodeURIComponent(WRONG));
  });

  it('is not written when a client, or an error holding one, is logged', async () => {
    const url = `redis://:${RIGHT}@127.0.0.1:${redis.port}`;
    registerConfigSecrets(Config.parse({ redis: { url }, hosts: HOSTS }));
    const client = createRedisClient(url, { lazyConnect: true });
    try {
      const { logger, text } = capture();
      // A class instance is not walked by the field censoring (only plain data is): the line itself is scrubbed.
      logger.warn({ connection: client }, 'queue error');
      const err = Object.assign(new Error('Connection is closed.'), { client });
      logger.warn({ err }, 'worker error');
      expect(text()).toMatch(/127\.0\.0\.1/);
      expect(text()).not.toContain(RIGHT);
    } finally {
      client.disconnect();
    }
  });
});
