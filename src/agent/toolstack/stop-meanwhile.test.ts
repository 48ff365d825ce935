import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stop as stopCommand } from '../../../commands/stop.ts';
import { replyText, simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { renderContext } from '../../core/define-command.ts';
import type { SshPool } from '../ssh/pool.ts';

/**
 * A guest that went away outside xenops between the agent's state check and its `xl shutdown` / `xl destroy`
 * (another operator destroyed it): the command answers that there is no such domain (xl: "is an invalid domain
 * identifier", xm: "Domain 'NAME' does not exist."), and the read-back finds it gone — not by xenops' doing.
 */
let env: SimEnv;
let pool: SshPool;

const driver = (host: string, kind: 'xl' | 'xm') => simToolstack(pool, host, kind);

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [
            { name: 'web', memoryMiB: 1024, vcpus: 1, running: true },
            { name: 'db', memoryMiB: 1024, vcpus: 1, running: true },
          ],
        },
        old: { toolstack: 'xm', domains: [{ name: 'ldap', memoryMiB: 512, vcpus: 1, running: true }] },
      },
    },
  });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

describe('stop when the guest went away outside xenops right before the command', () => {
  for (const [host, kind, domain, force] of [
    ['xen1', 'xl', 'web', false],
    ['xen1', 'xl', 'db', true],
    ['old', 'xm', 'ldap', false],
  ] as const) {
    it(`${kind} ${force ? 'destroy' : 'shutdown'}: says it was not running (stopped meanwhile), not that xenops stopped it`, async () => {
      const r = await driver(host, kind).stop(
        domain,
        { force },
        {
          beforeIssue: async () => {
            const other = await pool.run(host, [kind, 'destroy', domain]);
            expect(other.code).toBe(0);
          },
        },
      );
      // Was { outcome: 'shut-down' | 'destroyed' }: "web shut down on xen1", though xenops' command found no web.
      expect(r.outcome).toBe('already-stopped');
      const reply = stopCommand.render(
        [{ host, ok: true, result: { host, ...r } }],
        { domain: { domain }, force } as never,
        renderContext(),
      );
      expect(reply.title).toBe(`${domain} is not running on ${host}`);
      expect(replyText(reply)).toMatch(/stopped meanwhile outside xenops/);
    });
  }
});
