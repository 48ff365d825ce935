import { describe, expect, it } from 'vitest';
import { digest } from '../../commands/digest.ts';
import { fixture } from '../../test/helpers/fixtures.ts';
import { Config } from '../config/schema.ts';
import { type HostOutcome, renderContext } from '../core/define-command.ts';
import { runHandler } from './handlers.ts';
import type { RemoteRunner, RunResult } from './ssh/types.ts';
import { XenToolstack } from './toolstack/driver.ts';

/**
 * /digest takes each domain's uptime from `xl uptime`/`xm uptime`: a line it cannot read leaves that domain's uptime
 * `-`, and the reply says which line, short, rather than let `-` pass for "not running".
 */
const config = Config.parse({ hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });
/** A real `xm uptime` (Oracle VM), with one row xm printed in a shape it has no rule for. */
const ODD = `scas22dv0509m.us.oracle.com        262 ${'12 days, '.repeat(20)}3:01:02 (migrating)`;
const UPTIME = `${fixture('xm-uptime__exabox-ovm-tests_vmcontrol.txt').trimEnd()}\n${ODD}\n`;

async function digestReply() {
  const runner: RemoteRunner = {
    run: async (_host, words): Promise<RunResult> => {
      if (words.join(' ') === 'xm uptime') return { code: 0, stdout: UPTIME, stderr: '' };
      throw new Error(`unexpected ${words.join(' ')}`);
    },
  };
  const ts = new XenToolstack('xm', runner, {
    name: 'xen1',
    configDirs: [],
    consoleLogDir: '/var/log/xen/console',
    shutdownTimeoutSeconds: 5,
  });
  const now = Date.now();
  const result = await runHandler(
    {
      op: 'host.digest',
      host: 'xen1',
      hours: 24,
      meta: { requestId: 'r', person: 'p', platform: 'terminal', userId: 'u', channelId: 'c', command: 'digest' },
    },
    { config, toolstack: async () => ts, op: {}, samples: { latest: () => null, history: async () => [] }, now: () => now },
  );
  const outcomes: HostOutcome<'host.digest'>[] = [{ host: 'xen1', ok: true, result } as HostOutcome<'host.digest'>];
  return digest.render(outcomes as never, { hours: 24 } as never, renderContext({ now }));
}

describe('/digest when a line of xm uptime could not be read', () => {
  it('says so in one short line, naming the host and quoting the line cut short', async () => {
    const reply = await digestReply();
    const said = reply.blocks.flatMap((b) => (b.type === 'text' && b.text.startsWith('⚠') ? [b.text] : []));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(
      /^⚠ xen1: could not read this line of xm uptime, so a domain's uptime may show -: scas22dv0509m\.us\.oracle\.com +262 12 days, .*…$/,
    );
    expect(said[0]?.length).toBeLessThan(180);
    expect(reply.tone).toBe('warning');
  });
});
