import type { HistoryPoint, HostSample } from '../core/samples.ts';
import type { RedisClient } from './redis-connection.ts';

/**
 * The agents' live samples and history in Redis, read by `/top`, the status post, the digest and the charts.
 *
 *   `${prefix}:sample:${host}`   the latest HostSample (JSON), expiring (the sampler writes it with ttl = 3 × interval,
 *                                so a host whose sampler stopped has no sample rather than a stale one)
 *   `${prefix}:history:${host}`  a list of HistoryPoint (JSON), oldest first, trimmed to the newest maxLen, and
 *                                expiring the history's span after its last point (a host no longer sampled — taken
 *                                out of the config — leaves nothing behind for good)
 *
 * The prefix is the hash tag (`{xenops}`): every key starts with `${prefix}:` and so shares the queues' Cluster slot.
 * Values that do not parse are treated as absent, never thrown.
 */
export class SampleStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  latestKey(host: string): string {
    return `${this.prefix}:sample:${host}`;
  }

  historyKey(host: string): string {
    return `${this.prefix}:history:${host}`;
  }

  async putLatest(sample: HostSample, ttlMs: number): Promise<void> {
    await this.redis.set(this.latestKey(sample.host), JSON.stringify(sample), 'PX', Math.max(1, Math.round(ttlMs)));
  }

  /** The latest sample of each host (null when none is fresh), in one round trip. */
  async latest(hosts: readonly string[]): Promise<Record<string, HostSample | null>> {
    const out: Record<string, HostSample | null> = {};
    if (hosts.length === 0) return out;
    const values = await this.redis.mget(...hosts.map((h) => this.latestKey(h)));
    hosts.forEach((h, i) => {
      out[h] = parse<HostSample>(values[i] ?? null);
    });
    return out;
  }

  /** Appends a point and keeps the newest maxLen, atomically; with keepMs, the list expires that long after it. */
  async pushHistory(host: string, point: HistoryPoint, maxLen: number, keepMs?: number): Promise<void> {
    const key = this.historyKey(host);
    const multi = this.redis
      .multi()
      .rpush(key, JSON.stringify(point))
      .ltrim(key, -Math.max(1, Math.floor(maxLen)), -1);
    if (keepMs !== undefined) multi.pexpire(key, Math.max(1, Math.round(keepMs)));
    const result = await multi.exec();
    const failed = result?.find(([error]) => error);
    if (!result || failed) throw failed?.[0] ?? new Error('history write was discarded');
  }

  /** The host's points at or after sinceMs, oldest first. */
  async history(host: string, sinceMs: number): Promise<HistoryPoint[]> {
    return pointsSince(await this.redis.lrange(this.historyKey(host), 0, -1), sinceMs);
  }

  /** history() for several hosts, pipelined (one round trip). */
  async histories(hosts: readonly string[], sinceMs: number): Promise<Record<string, HistoryPoint[]>> {
    const out: Record<string, HistoryPoint[]> = {};
    if (hosts.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const h of hosts) pipeline.lrange(this.historyKey(h), 0, -1);
    const results = (await pipeline.exec()) ?? [];
    hosts.forEach((h, i) => {
      const [error, value] = results[i] ?? [new Error('no reply'), null];
      if (error) throw error;
      out[h] = pointsSince(value as string[], sinceMs);
    });
    return out;
  }
}

function pointsSince(raw: readonly string[], sinceMs: number): HistoryPoint[] {
  const points: HistoryPoint[] = [];
  for (const v of raw) {
    const p = parse<HistoryPoint>(v);
    if (p && typeof p.at === 'number' && p.at >= sinceMs) points.push(p);
  }
  return points;
}

function parse<T>(v: string | null): T | null {
  if (v === null) return null;
  try {
    return JSON.parse(v) as T;
  } catch {
    return null;
  }
}
