import { describe, expect, it } from 'vitest';
import { runHandler } from '../src/agent/handlers.ts';
import type { XenToolstack } from '../src/agent/toolstack/driver.ts';
import { Config } from '../src/config/schema.ts';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import type { Block } from '../src/core/reply.ts';
import type { HostSample } from '../src/core/samples.ts';
import { domainSample } from '../test/helpers/domain-sample.ts';
import { status } from './status.ts';
import { top } from './top.ts';

/**
 * A host whose xentop has no -f: a name the sampler could not map back to a full one (nameCut) is xentop's first 10
 * characters, maybe no guest's. /top shows it cut, so an operator is not given `webserver-` as a guest's name.
 */
const tables = (blocks: readonly Block[]) => blocks.flatMap((b) => (b.type === 'table' ? [b.table] : []));

describe('/top on a host whose xentop cuts names', () => {
  it('GIVEN a cut name the sampler marked and full names THEN the cut one is shown cut, the others as they are', () => {
    const outcome: HostOutcome<'host.top'> = {
      host: 'xen1',
      ok: true,
      agent: null,
      frozen: null,
      result: {
        host: 'xen1',
        live: true,
        sampledAt: 0,
        domains: [
          domainSample('webserver-', { cpuPercent: 3, nameCut: true }),
          domainSample('database-1', { cpuPercent: 2 }),
          domainSample('web', { cpuPercent: 1 }),
        ],
      },
    };
    const [table] = tables(top.render([outcome], { chart: false }, renderContext({ now: 0 })).blocks);
    expect(table?.rows.map((r) => r[1])).toEqual(['webserver-…', 'database-1', 'web']);
  });
});

describe("/status's busiest list on a host whose xentop cuts names", () => {
  it('GIVEN a cut name the sampler marked THEN the agent keeps the mark and the list shows the name cut', async () => {
    const config = Config.parse({ hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });
    const meta = { requestId: 'r', person: 'p', platform: 'terminal' as const, userId: 'u', channelId: 'c', command: 'status' };
    const now = Date.now();
    const sample: HostSample = {
      host: 'xen1',
      at: now,
      intervalSeconds: 5,
      domains: [domainSample('webserver-', { cpuPercent: 9, nameCut: true }), domainSample('database-1', { cpuPercent: 2 })],
    };
    const ts = {
      kind: 'xl',
      infoAndList: async () => ({ info: { total_memory: '4096', free_memory: '1024' }, domains: [], notes: [] }),
    } as unknown as XenToolstack;
    const result = await runHandler(
      { op: 'host.status', host: 'xen1', meta },
      { config, toolstack: async () => ts, op: {}, samples: { latest: () => sample, history: async () => [] }, now: () => now },
    );
    const outcome: HostOutcome<'host.status'> = { host: 'xen1', ok: true, result, agent: null, frozen: null };
    const blocks = status.render([outcome] as never, {} as never, renderContext({ now, posts: config.posts })).blocks;
    const busiest = blocks.find((b) => b.type === 'table' && b.caption?.startsWith('Busiest domains'));
    expect(busiest?.type === 'table' && busiest.table.rows.map((r) => r[0])).toEqual(['webserver-…', 'database-1']);
  });
});
