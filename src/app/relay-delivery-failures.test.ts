import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureAdapter } from '../../test/helpers/capture-adapter.ts';
import { type OperatorsStack, sendAs, startOperators, stopOperators } from '../../test/helpers/operators.ts';
import { REDIS_URL } from '../../test/helpers/redis.ts';
import { twoHostFleet } from '../../test/helpers/sim.ts';
import { DeliveryFailure, type DeliveryFailureKind } from '../adapters/delivery-failure.ts';
import type { ReplyTarget } from '../adapters/types.ts';
import { isFinal, type Reply } from '../core/reply.ts';

/**
 * Whether the relay tries a final reply again is the adapter's to say, not read off the error's shape: an error of the
 * adapter's own making (a chart it could not fetch, a file it could not read, a Redis or HTTP client's error) that
 * happens to carry an HTTP-like `status` says nothing about what the platform thinks of the reply.
 */
class FailingFinals extends CaptureAdapter {
  /** Thrown by the next final deliveries, one each. */
  readonly failures: unknown[] = [];
  /** Final deliveries tried, by request. */
  readonly tries = new Map<string, number>();

  override async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    if (isFinal(reply)) {
      this.tries.set(target.requestId, (this.tries.get(target.requestId) ?? 0) + 1);
      const failure = this.failures.shift();
      if (failure !== undefined) throw failure;
    }
    return super.deliver(target, reply);
  }
}

let s: OperatorsStack<FailingFinals>;
let redis: Redis;

beforeAll(async () => {
  s = await startOperators(twoHostFleet(), new FailingFinals());
  redis = new Redis(REDIS_URL);
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  if (s) await stopOperators(s);
});

describe('a final reply whose delivery failed with an error the adapter did not classify', () => {
  it('a plain error: tried again, and delivered', async () => {
    s.adapter.failures.push(new Error('the attachments directory could not be written'));
    const id = await sendAs(s, 'info xen1', 'alice', 'plain');
    await expect.poll(() => s.adapter.finals(id).length, { timeout: 20_000 }).toBe(1);
    expect(s.adapter.tries.get(id)).toBe(2);
    expect(s.adapter.finals(id)).toHaveLength(1);
  }, 30_000);

  it('carrying status 404 (not the platform answering): tried again, and delivered', async () => {
    s.adapter.failures.push(Object.assign(new Error('the chart could not be fetched: 404 Not Found'), { status: 404 }));
    const id = await sendAs(s, 'info xen1', 'alice', 'status-404');
    await expect.poll(() => s.adapter.finals(id).length, { timeout: 20_000 }).toBe(1);
    expect(s.adapter.tries.get(id)).toBe(2);
    expect(s.adapter.finals(id)).toHaveLength(1);
  }, 30_000);

  it('shaped like a telegraf error (response.error_code 400) without being one: tried again, and delivered', async () => {
    s.adapter.failures.push(Object.assign(new Error('upstream said no'), { response: { error_code: 400 } }));
    const id = await sendAs(s, 'info xen2', 'alice', 'error-code-400');
    await expect.poll(() => s.adapter.finals(id).length, { timeout: 20_000 }).toBe(1);
    expect(s.adapter.tries.get(id)).toBe(2);
    expect(s.adapter.finals(id)).toHaveLength(1);
  }, 30_000);
});

describe('a final reply whose delivery failed as the adapter classified it', () => {
  const givenUp = async (kind: DeliveryFailureKind, id: string, text: string) => {
    s.adapter.failures.push(new DeliveryFailure(kind, new Error('what the platform said')));
    await sendAs(s, text, 'alice', id);
    await expect.poll(() => s.adapter.tries.get(id), { timeout: 10_000 }).toBe(1);
    // Closed at once: tried again, it would stay pending for the 5 s before the next try.
    await expect.poll(() => redis.exists(`${s.prefix}:pending:${id}`), { timeout: 3_000 }).toBe(0);
    expect(s.adapter.tries.get(id)).toBe(1);
    expect(s.adapter.finals(id)).toHaveLength(0);
  };

  it('refused by the platform: not tried again', async () => {
    await givenUp('refused', 'refused', 'info xen1');
  }, 30_000);

  it('maybe delivered: not tried again', async () => {
    await givenUp('maybe-delivered', 'maybe-delivered', 'info xen2');
  }, 30_000);

  it('retry: tried again, and delivered', async () => {
    s.adapter.failures.push(new DeliveryFailure('retry', new Error('no answer')));
    const id = await sendAs(s, 'info xen1', 'alice', 'retry');
    await expect.poll(() => s.adapter.finals(id).length, { timeout: 20_000 }).toBe(1);
    expect(s.adapter.tries.get(id)).toBe(2);
    expect(s.adapter.finals(id)).toHaveLength(1);
  }, 30_000);
});
