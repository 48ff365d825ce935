import { describe, expect, it } from 'vitest';
import { renderContext } from '../src/core/define-command.ts';
import type { Block } from '../src/core/reply.ts';
import type { HostSample } from '../src/core/samples.ts';
import { domainSample } from '../test/helpers/domain-sample.ts';
import { busiestRows, hostStatusWith } from '../test/helpers/host-status.ts';
import { hostAnswer } from '../test/helpers/status-outcomes.ts';
import { top } from './top.ts';

/**
 * A host whose xentop has no -f: a name the sampler could not map back to a full one (nameCut) is xentop's first 10
 * characters, maybe no guest's. /top shows it cut, so an operator is not given `webserver-` as a guest's name.
 */
const tables = (blocks: readonly Block[]) => blocks.flatMap((b) => (b.type === 'table' ? [b.table] : []));

describe('/top on a host whose xentop cuts names', () => {
  it('GIVEN a cut name the sampler marked and full names THEN the cut one is shown cut, the others as they are', () => {
    const outcome = hostAnswer<'host.top'>({
      host: 'xen1',
      live: true,
      sampledAt: 0,
      domains: [
        domainSample('webserver-', { cpuPercent: 3, nameCut: true }),
        domainSample('database-1', { cpuPercent: 2 }),
        domainSample('web', { cpuPercent: 1 }),
      ],
    });
    const [table] = tables(top.render([outcome], { chart: false }, renderContext({ now: 0 })).blocks);
    expect(table?.rows.map((r) => r[1])).toEqual(['webserver-…', 'database-1', 'web']);
  });
});

describe("/status's busiest list on a host whose xentop cuts names", () => {
  it('GIVEN a cut name the sampler marked THEN the agent keeps the mark and the list shows the name cut', async () => {
    const now = Date.now();
    const sample: HostSample = {
      host: 'xen1',
      at: now,
      intervalSeconds: 5,
      domains: [domainSample('webserver-', { cpuPercent: 9, nameCut: true }), domainSample('database-1', { cpuPercent: 2 })],
    };
    const rows = busiestRows(await hostStatusWith(sample, now), now);
    expect(rows?.map((r) => r[0])).toEqual(['webserver-…', 'database-1']);
  });
});
