import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInfo } from '../src/agent/parsers/info.ts';
import type { SshPool } from '../src/agent/ssh/pool.ts';
import { renderContext } from '../src/core/define-command.ts';
import type { HostInfo } from '../src/core/xen.ts';
import { simToolstack } from '../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../test/helpers/sim.ts';
import { info } from './info.ts';

let env: SimEnv;
let pool: SshPool;

beforeAll(async () => {
  env = await startSimEnv({ fleet: { hosts: { old: { toolstack: 'xm', domains: [] } } } });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

/** The /info fields an operator sees inline (the full text goes as an attachment). */
function shown(host: string, toolstack: 'xl' | 'xm', hostInfo: HostInfo): Record<string, string> {
  const reply = info.render([{ host, ok: true, result: { host, toolstack, info: hostInfo } }], { host }, renderContext());
  return Object.fromEntries(reply.blocks.flatMap((b) => (b.type === 'fields' ? b.fields.map((f) => [f.name, f.value]) : [])));
}

describe('/info of an xm host', () => {
  it('shows the whole Xen release (xen_extra), not just 4.1, where xm info has no xen_version', async () => {
    const ts = simToolstack(pool, 'old', 'xm', { configDirs: ['/etc/xen'] });
    const fields = shown('old', 'xm', (await ts.info()).info);
    expect(fields).toMatchObject({ xen_major: '4', xen_minor: '1', xen_extra: '.4' });
  });

  it("shows an old xm host's total memory (its key is `memory`, not total_memory)", () => {
    const old = parseInfo(
      'host                   : old\nmemory                 : 4096\nfree_memory            : 100\nxen_major              : 3\nxen_minor              : 4\nxen_extra              : .2\n',
    );
    expect(shown('old', 'xm', old)).toMatchObject({ memory: '4096', free_memory: '100' });
  });

  it('on xl, which prints xen_version, does not repeat xen_extra inline', async () => {
    const fields = shown('xen1', 'xl', { xen_version: '4.17.3', xen_major: '4', xen_minor: '17', xen_extra: '.3' });
    expect(fields['xen_version']).toBe('4.17.3');
    expect(fields['xen_extra']).toBeUndefined();
  });
});
