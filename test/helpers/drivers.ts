import type { RemoteRunner } from '../../src/agent/ssh/types.ts';
import { type ReadBackPolicy, XenToolstack } from '../../src/agent/toolstack/driver.ts';
import type { ToolstackKind } from '../../src/agent/toolstack/types.ts';
import type { Reply } from '../../src/core/reply.ts';

/**
 * The toolstack driver of one simulated host, set up as the simulator lays a host out: config files in /etc/xen/vm,
 * autostart links in /etc/xen/auto, console logs in /var/log/xen/console; a 5 s shutdown timeout and a read-back
 * quick enough for tests.
 */
export function simToolstack(
  runner: RemoteRunner,
  host: string,
  kind: ToolstackKind = 'xl',
  options: { configDirs?: string[]; readBack?: ReadBackPolicy } = {},
): XenToolstack {
  return new XenToolstack(
    kind,
    runner,
    {
      name: host,
      configDirs: options.configDirs ?? ['/etc/xen/vm', '/etc/xen/auto'],
      consoleLogDir: '/var/log/xen/console',
      shutdownTimeoutSeconds: 5,
    },
    { readBack: options.readBack ?? { attempts: 10, delayMs: 20 } },
  );
}

/** A reply's title and text blocks, one per line: what a test reads a reply's words from. */
export function replyText(r: Reply): string {
  return [r.title, ...r.blocks.map((b) => ('text' in b ? b.text : ''))].join('\n');
}
