import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.ts';
import { demoChat } from '../helpers/stack.ts';

/**
 * /migrate in the terminal demo against the simulator, the target unreachable when the agent reads it before sending
 * `xl migrate`. The job runs on the source, but the host that did not answer is the target: the reply must name it,
 * not call the source unreachable (which sends the operator to look at a healthy host).
 */
const chat = demoChat(
  (c) => ({ ...c, people: { ...c.people, erin: { roles: ['admin'], identities: { terminal: 'erin' }, onCall: false } } }) as Config,
);
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

describe('/migrate to a target that cannot be reached', () => {
  it.each([
    ['every connection to it is lost', { kind: 'drop' as const, times: 0 }, 'unreachable'],
    ['it presents another host key', { kind: 'hostKey' as const }, 'host key refused'],
  ])(
    'GIVEN %s THEN the reply names the target, not the source, and nothing is sent',
    async (_name, spec, label) => {
      const sim = chat.stack.sim;
      const id = idOf(await chat.say('/migrate web xen2'));
      expect(id).not.toBe('');
      const fault = await sim.faults.add('xen2', spec);
      sim.faults.dropConnections('xen2');
      const mark = chat.t.output().length;
      try {
        await chat.say(`@erin /approve ${id}`);
        const reply = await chat.printed(/✖ Migration of web[^\n]*\n[^\n]*/, mark);
        expect(reply.split('\n')[0]).toBe('✖ Migration of web failed');
        expect(reply.split('\n')[1]).toMatch(new RegExp(`^⚠ xen2: ${label} — `));
        expect(reply).not.toMatch(/xen1: (unreachable|host key refused)/);
      } finally {
        await sim.faults.remove(fault.id);
      }
      expect(chat.sent('xen1', /xl migrate/)).toBe(0);
      expect(sim.fleet.findDomain(sim.fleet.host('xen1'), 'web')).toBeDefined();
    },
    30_000,
  );
});
