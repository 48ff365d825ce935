import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start as startCommand } from '../../../commands/start.ts';
import { replyText, simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { renderContext } from '../../core/define-command.ts';
import type { SshPool } from '../ssh/pool.ts';

/**
 * A guest started outside xenops between the agent's state check and its `xl create` (/`xm create`): the create
 * answers "already exists" (xl: libxl's rename error, exit 3; xm: "Domain 'NAME' already exists with ID"), and the
 * read-back finds the guest running — run by someone else's create, not by xenops'.
 */
let env: SimEnv;
let pool: SshPool;

const driver = (host: string, kind: 'xl' | 'xm') => simToolstack(pool, host, kind);

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: { toolstack: 'xl', domains: [{ name: 'mail', memoryMiB: 1024, vcpus: 1, running: false }] },
        old: { toolstack: 'xm', domains: [{ name: 'ldap', memoryMiB: 512, vcpus: 1, running: false }] },
      },
    },
  });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

describe('start when the guest was started outside xenops right before its create', () => {
  for (const [host, kind, domain] of [
    ['xen1', 'xl', 'mail'],
    ['old', 'xm', 'ldap'],
  ] as const) {
    it(`${kind}: says it was already running (started meanwhile) and that xenops created nothing`, async () => {
      const r = await driver(host, kind).start(domain, {
        // Another operator's create on the host, after the agent's check and before its own create.
        beforeIssue: async () => {
          const other = await pool.run(host, [kind, 'create', `/etc/xen/vm/${domain}.cfg`]);
          expect(other.code).toBe(0);
        },
      });
      expect(env.sim.hosts[host]?.commandLog.filter((c) => c.startsWith(`${kind} create`))).toHaveLength(2);
      // Was { outcome: 'started' }: "mail started on xen1", though xenops' create was refused.
      expect(r.outcome).toBe('already-running');
      const reply = startCommand.render([{ host, ok: true, result: { host, ...r } }], { domain: { domain } } as never, renderContext());
      expect(reply.title).toBe(`${domain} is already running on ${host}`);
      expect(replyText(reply)).toMatch(/started meanwhile outside xenops/);
      expect(replyText(reply)).toMatch(/nothing was created/);
    });
  }
});
