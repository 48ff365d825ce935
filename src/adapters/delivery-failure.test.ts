import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.ts';
import { ClassifiedDeliveries, DeliveryFailure, deliveryFailureKind } from './delivery-failure.ts';
import { markMaybeDelivered } from './maybe-delivered.ts';

/** A platform's own errors, as its library would throw them: the classifier is told which are which. */
class PlatformError extends Error {
  constructor(readonly code: number) {
    super(`platform said ${code}`);
  }
}

function deliveries(): { d: ClassifiedDeliveries; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const d = new ClassifiedDeliveries({
    platform: 'chat',
    isTokenRefused: (e) => e instanceof PlatformError && e.code === 401,
    refusesReply: (e) => e instanceof PlatformError && e.code >= 400 && e.code < 500 && e.code !== 429,
    logger: createLogger('error', sink),
    message: 'the platform refuses the bot token',
  });
  return { d, lines };
}

const failureOf = (d: ClassifiedDeliveries, error: unknown) =>
  d
    .deliver(() => Promise.reject(error))
    .then(
      () => null,
      (e: unknown) => e,
    );

describe('a delivery failure, as the adapter classifies it', () => {
  it("the platform's refusal of the reply: refused, with the error met as its cause", async () => {
    const { d } = deliveries();
    const met = new PlatformError(400);
    const failure = await failureOf(d, met);
    expect(failure).toBeInstanceOf(DeliveryFailure);
    expect(deliveryFailureKind(failure)).toBe('refused');
    expect((failure as DeliveryFailure).cause).toBe(met);
  });

  it("an error of another library carrying status 404: not the platform's refusal, tried again", async () => {
    const { d } = deliveries();
    const failure = await failureOf(d, Object.assign(new Error('chart fetch failed'), { status: 404 }));
    expect(deliveryFailureKind(failure)).toBe('retry');
  });

  it('a 429 past the waits, or a 5xx: tried again', async () => {
    const { d } = deliveries();
    expect(deliveryFailureKind(await failureOf(d, new PlatformError(429)))).toBe('retry');
    expect(deliveryFailureKind(await failureOf(d, new PlatformError(502)))).toBe('retry');
  });

  it('marked as maybe out: maybe-delivered, unless the platform refused the reply itself', async () => {
    const { d } = deliveries();
    expect(deliveryFailureKind(await failureOf(d, markMaybeDelivered(new PlatformError(502))))).toBe('maybe-delivered');
    expect(deliveryFailureKind(await failureOf(d, markMaybeDelivered(new PlatformError(403))))).toBe('refused');
  });

  it('the bot token refused: tried again (maybe-delivered when marked), said once until a delivery succeeds', async () => {
    const { d, lines } = deliveries();
    const first = await failureOf(d, new PlatformError(401));
    expect(deliveryFailureKind(first)).toBe('retry');
    expect(String(first)).toMatch(/chat refused the bot token: Error: platform said 401/);
    expect(deliveryFailureKind(await failureOf(d, markMaybeDelivered(new PlatformError(401))))).toBe('maybe-delivered');
    expect(lines).toHaveLength(1);
    await d.deliver(async () => 'sent');
    await failureOf(d, new PlatformError(401));
    expect(lines).toHaveLength(2);
  });

  it('classified already (deeper in the adapter): passed on as it is', async () => {
    const { d } = deliveries();
    const inner = new DeliveryFailure('refused', new Error('x'));
    expect(await failureOf(d, inner)).toBe(inner);
  });

  it('nothing classified it (no adapter in between): tried again', () => {
    expect(deliveryFailureKind(Object.assign(new Error('x'), { status: 400 }))).toBe('retry');
    expect(deliveryFailureKind({ response: { error_code: 400 } })).toBe('retry');
  });
});
