import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { createLogger } from '../core/log.ts';
import { DomainLocks } from '../queue/coordination.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import { SampleStore } from '../queue/samples.ts';
import { XentopStream } from './parsers/xentop-stream.ts';
import { Sampler } from './sampler.ts';
import type { RemoteRunner } from './ssh/types.ts';

/** The stream ends (the connection is lost) with a line xentop had not finished: counted and logged, not lost unsaid. */
const HEAD =
  '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID';
const row = (name: string, cpu: string) =>
  `${name.padStart(10)} --b---       2084 ${cpu.padStart(6)}    1048576   12.5    1048576      12.5     1    1        0        0    1        0        0        0          0          0    0`;

describe('XentopStream.end()', () => {
  it('counts the line left without its newline and keeps it as an example', () => {
    const s = new XentopStream();
    s.push(`${HEAD}\n${row('Domain-0', '1.0')}\n${row('web', '2.0').slice(0, 40)}`);
    s.end();
    expect(s.stats.cutLines).toBe(1);
    expect(s.stats.unparsedSamples).toEqual([row('web', '2.0').slice(0, 40)]);
  });

  it('counts nothing when the output ended with its newline', () => {
    const s = new XentopStream();
    s.push(`${HEAD}\n${row('Domain-0', '1.0')}\n`);
    s.end();
    expect(s.stats.cutLines).toBe(0);
  });
});

const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis.disconnect();
});

describe('the sampler when its xentop stream ends mid-line', () => {
  it('logs the cut line with what it could not read', async () => {
    const lines: Record<string, unknown>[] = [];
    let logged: () => void = () => {};
    const warned = new Promise<void>((resolve) => {
      logged = resolve;
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        const entry = JSON.parse(chunk.toString()) as Record<string, unknown>;
        lines.push(entry);
        if (entry['msg'] === 'xentop lines the sampler could not read') logged();
        done();
      },
    });
    let runs = 0;
    // A host whose connection drops once, in the middle of a row.
    const runner: RemoteRunner = {
      run: async () => ({ code: 1, stdout: '', stderr: 'not asked' }),
      stream: async (_host, _argv, options) => {
        runs++;
        if (runs === 1)
          options.onStdout(`${HEAD}\n${row('Domain-0', '0.0')}\n${HEAD}\n${row('Domain-0', '3.0')}\n${row('web', '9.0').slice(0, 50)}`);
        else await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
        return { code: null };
      },
    };
    const sampler = new Sampler(
      { hosts: ['xen1'], intervalSeconds: 1, historyEverySeconds: 1, historyHours: 1, unreachableAfterFailures: 5, quietMs: 20 },
      {
        runner,
        samples: new SampleStore(redis, prefix),
        events: new FleetEventLog(redis, prefix),
        locks: new DomainLocks(redis, prefix),
        list: async () => [],
        logger: createLogger('info', sink),
      },
    );
    sampler.start();
    try {
      await warned;
    } finally {
      await sampler.close();
    }
    const warn = lines.find((l) => l['msg'] === 'xentop lines the sampler could not read');
    expect(warn).toMatchObject({ cutLines: 1, samples: [row('web', '9.0').slice(0, 50)] });
  }, 5_000);
});
