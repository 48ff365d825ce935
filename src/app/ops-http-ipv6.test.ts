import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { opsHttpSection } from '../config/ops-schema.ts';
import { createLogger } from '../core/log.ts';
import { type OpsServer, startOpsServer } from './ops-http.ts';

const logger = createLogger('silent');
const servers: OpsServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('the ops HTTP endpoints on IPv6 loopback', () => {
  it('listen on a loopback address the config accepts in URL notation, [::1]', async () => {
    // The config takes it as loopback (no allowNonLoopback needed)…
    const http = opsHttpSection(9464).parse({ enabled: true, host: '[::1]', port: 0 });
    // …so the process must be able to listen there, not exit 1 with ENOTFOUND.
    const s = await startOpsServer({ host: http.host, port: http.port, registry: new Registry(), readiness: async () => [], logger });
    servers.push(s);
    expect(s.url).toBe(`http://[::1]:${s.port}`);
    const r = await fetch(`${s.url}/healthz`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { status: string }).status).toBe('alive');
  });
});
