export { deleteKeysWithPrefix } from '../../src/app/redis-keys.ts';

export const REDIS_URL = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';

/** A hash-tagged key prefix of its own for each test run, so runs never see each other's queues. */
export function uniquePrefix(): string {
  return `{xenops-test-${Math.random().toString(36).slice(2, 10)}}`;
}
