import { status } from '../../commands/status.ts';
import { runHandler } from '../../src/agent/handlers.ts';
import type { XenToolstack } from '../../src/agent/toolstack/driver.ts';
import { Config } from '../../src/config/schema.ts';
import { type HostOutcome, renderContext } from '../../src/core/define-command.ts';
import type { HostSample } from '../../src/core/samples.ts';
import type { JobResult } from '../../src/queue/jobs.ts';

const config = Config.parse({ hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });
const meta = { requestId: 'r', person: 'p', platform: 'terminal' as const, userId: 'u', channelId: 'c', command: 'status' };

/**
 * The agent's host.status answer for xen1 at `now`, its sampler's latest sample being `sample`: the handler as the
 * agent runs it, on a toolstack that answers a 4 GiB host with 1 GiB free (what the busiest list is taken from is the
 * sample, not the toolstack's list).
 */
export async function hostStatusWith(sample: HostSample, now: number): Promise<JobResult<'host.status'>> {
  const ts = {
    kind: 'xl',
    infoAndList: async () => ({ info: { total_memory: '4096', free_memory: '1024' }, domains: [], notes: [] }),
  } as unknown as XenToolstack;
  return runHandler(
    { op: 'host.status', host: 'xen1', meta },
    { config, toolstack: async () => ts, op: {}, samples: { latest: () => sample, history: async () => [] }, now: () => now },
  );
}

/** The rows of /status's "Busiest domains" table, the answer rendered at `now` (undefined with no such table). */
export function busiestRows(result: JobResult<'host.status'>, now: number): string[][] | undefined {
  const outcome: HostOutcome<'host.status'> = { host: 'xen1', ok: true, result, agent: null, frozen: null };
  const blocks = status.render([outcome] as never, {} as never, renderContext({ now, posts: config.posts })).blocks;
  const busiest = blocks.find((b) => b.type === 'table' && b.caption?.startsWith('Busiest domains'));
  return busiest?.type === 'table' ? busiest.table.rows : undefined;
}
