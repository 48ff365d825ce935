import { describe, expect, it } from 'vitest';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import type { DomainStatus, DomainSummary } from '../src/core/xen.ts';
import { answered, NOW, rowsOf } from '../test/helpers/status-outcomes.ts';
import { list } from './list.ts';
import { status } from './status.ts';

/**
 * xen1 as the demo has it: web running, and mail a config file that is not running. /list called mail "defined (not
 * running)" and /status counted it "1 stopped": two words for one state, and an operator cannot tell whether they are.
 */
const domain = (name: string, state: DomainStatus, id: number | null): DomainSummary => ({
  name,
  uuid: null,
  id,
  status: state,
  flags: '',
  memoryMiB: 1024,
  vcpus: 1,
  cpuSeconds: null,
  configPath: `/etc/xen/vm/${name}.cfg`,
  autostart: null,
});
const domains = [domain('web', 'running', 2), domain('mail', 'defined', null)];

describe('/status and /list of the same host', () => {
  it('say a domain that is only a config file the same way', () => {
    const listed: HostOutcome<'domain.list'> = { host: 'xen1', ok: true, agent: null, frozen: null, result: { domains } } as never;
    const l = list.render([listed], {}, renderContext({ now: NOW }));
    const mail = l.blocks.flatMap((b) => (b.type === 'table' ? b.table.rows : [])).find((r) => r[1] === 'mail');
    const words = mail?.[3] ?? '';
    expect(words).toBe('defined (not running)');

    const s = status.render(
      [
        answered('xen1', {
          domainsByStatus: { running: 1, defined: 1 },
          domains: domains.map((d) => ({ name: d.name, uuid: d.uuid, status: d.status, memoryMiB: d.memoryMiB })),
        }),
      ],
      {},
      renderContext({ now: NOW }),
    );
    expect(rowsOf(s)).toContain(`xen1 | up (xl 4.17.3) | 1 running, 1 ${words} |`);
    expect(rowsOf(s)).not.toContain('stopped');
  });
});
