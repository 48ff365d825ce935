import { Agent, request } from 'node:http';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.ts';
import type { ReadinessCheck } from '../core/readiness.ts';
import { type OpsServer, startOpsServer } from './ops-http.ts';

const logger = createLogger('silent');
const servers: OpsServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(readiness: () => Promise<ReadinessCheck[]>, registry = new Registry(), readinessTimeoutMs?: number) {
  const s = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    readiness,
    logger,
    ...(readinessTimeoutMs ? { readinessTimeoutMs } : {}),
  });
  servers.push(s);
  return s;
}

const get = async (url: string, init?: RequestInit) => {
  const r = await fetch(url, init);
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
};

describe('the ops HTTP endpoints', () => {
  it('/healthz answers 200 while the process runs, even when it is not ready', async () => {
    const s = await start(async () => [{ name: 'redis', ok: false, detail: 'down' }]);
    const r = await get(`${s.url}/healthz`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ status: 'alive', pid: process.pid });
  });

  it('/readyz: 200 naming each check, 503 naming the failing ones', async () => {
    let checks: ReadinessCheck[] = [
      { name: 'redis', ok: true, detail: 'PING PONG' },
      { name: 'agents', ok: true, detail: 'a live agent for each of 1 host(s)' },
    ];
    const s = await start(async () => checks);
    const ok = await get(`${s.url}/readyz`);
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^application\/json/);
    expect(JSON.parse(ok.text)).toEqual({ ready: true, failing: [], checks });
    checks = [checks[0] as ReadinessCheck, { name: 'agents', ok: false, detail: 'xen1: no agent ever seen' }];
    const bad = await get(`${s.url}/readyz`);
    expect(bad.status).toBe(503);
    expect(JSON.parse(bad.text)).toEqual({ ready: false, failing: ['agents'], checks });
  });

  it('/readyz is 503 when the checks throw or hang', async () => {
    const throwing = await start(() => Promise.reject(new Error('redis://:s3cret@h broke')));
    const r = await get(`${throwing.url}/readyz`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toEqual({
      ready: false,
      failing: ['checks'],
      checks: [{ name: 'checks', ok: false, detail: 'redis://:[redacted]@h broke' }],
    });
    const hanging = await start(() => new Promise(() => {}), new Registry(), 50);
    const h = await get(`${hanging.url}/readyz`);
    expect(h.status).toBe(503);
    expect(JSON.parse(h.text).checks[0].detail).toBe('the readiness checks did not finish within 50 ms');
  });

  it("/metrics serves the process's own registry in Prometheus' text format", async () => {
    const registry = new Registry();
    new Counter({ name: 'xenops_test_total', help: 'a test counter', registers: [registry] }).inc(3);
    const s = await start(async () => [], registry);
    const r = await get(`${s.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.type).toBe(registry.contentType);
    expect(r.text).toContain('# TYPE xenops_test_total counter\nxenops_test_total 3');
  });

  it('anything else is 404, other methods 405', async () => {
    const s = await start(async () => []);
    expect((await get(`${s.url}/`)).status).toBe(404);
    expect((await get(`${s.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('refuses to start on a port already taken, saying which', async () => {
    const first = await start(async () => []);
    await expect(
      startOpsServer({ host: '127.0.0.1', port: first.port, registry: new Registry(), readiness: async () => [], logger }),
    ).rejects.toThrow(`cannot listen on 127.0.0.1:${first.port} for /healthz, /readyz, /metrics: EADDRINUSE`);
  });

  it('close() ends kept-alive connections too', async () => {
    const s = await start(async () => []);
    // A scraper's keep-alive connection, left open.
    await new Promise<void>((resolve, reject) => {
      const req = request(`${s.url}/healthz`, { agent: new Agent({ keepAlive: true }) }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    const closed = await Promise.race([s.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('hung'), 2_000))]);
    servers.splice(servers.indexOf(s), 1);
    expect(closed).toBe('closed');
  });
});
