import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { demoChat } from '../helpers/stack.ts';

/**
 * /migrate in the terminal demo against the simulator, the SSH connection to the source cut while `xl migrate` runs.
 * Nothing the agent reads right after the cut tells a migration that died with it from one still going on the source
 * (an xl migrate not yet at the target's `xl migrate-receive`, or not writing when its channel closed): "failed" there
 * sends the operator to retry into a migration that may still run, so the reply is an unknown outcome unless the
 * guest is read back moved.
 */
const chat = demoChat(
  (c) => ({ ...c, people: { ...c.people, erin: { roles: ['admin'], identities: { terminal: 'erin' }, onCall: false } } }) as Config,
);
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

/** Asks as alice, approves as erin, and returns the final reply's title line and the line under it. */
async function migrate(line: string): Promise<string> {
  const id = idOf(await chat.say(line));
  expect(id).not.toBe('');
  const mark = chat.t.output().length;
  await chat.say(`@erin /approve ${id}`);
  return chat.printed(/[✔✖] (Migration of web|web moved)[^\n]*\n[^\n]*/, mark);
}

describe('/migrate whose connection to the source is cut while xl migrate runs', () => {
  it('GIVEN the guest reads back still on the source THEN the outcome is unknown, never "failed", and nothing is re-run', async () => {
    const sim = chat.stack.sim;
    const sent = chat.sent('xen1', /xl migrate/);
    sim.faults.dropNext('xen1', { match: /xl migrate/ });
    const reply = await migrate('/migrate web xen2');
    expect(reply).not.toMatch(/failed/);
    expect(reply).toMatch(
      /^✖ Migration of web: outcome unknown\n⚠ xen1: outcome unknown — lost the connection to xen1 while xl migrate ran; /,
    );
    // What was read back is said as such, with the warning that xl migrate may still be running.
    expect(reply).toContain('read back now: web blocked on xen1, absent on xen2');
    expect(reply).toContain('xl migrate may still be running on xen1');
    expect(chat.sent('xen1', /xl migrate/)).toBe(sent + 1);
    expect(sim.fleet.findDomain(sim.fleet.host('xen1'), 'web')).toBeDefined();
    // Its copy may still be building on xen2: the hold on xen2 is left to lapse, not let go.
    const redis = new Redis(REDIS_URL);
    try {
      const hold = `${chat.stack.prefix}:incoming:xen2`;
      expect(await redis.pttl(hold)).toBeGreaterThan(0);
      // The simulator's xl migrate died with its connection (it streams to its client): nothing builds there, and
      // the next test's /migrate to xen2 need not wait out the TTL.
      await redis.del(hold);
    } finally {
      redis.disconnect();
    }
  }, 30_000);

  it('GIVEN the guest reads back moved THEN it is reported moved, verified on the target', async () => {
    const sim = chat.stack.sim;
    sim.faults.dropNext('xen1', { match: /xl migrate/, afterEffect: true });
    const reply = await migrate('/migrate web xen2');
    expect(reply).toMatch(/^✔ web moved from xen1 to xen2\nrunning on xen2 as id \d+ \(verified\)$/);
    expect(sim.fleet.findDomain(sim.fleet.host('xen2'), 'web')).toBeDefined();
  }, 30_000);
});
