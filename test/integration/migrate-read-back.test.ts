import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.ts';
import { demoChat } from '../helpers/stack.ts';

/**
 * /migrate in the terminal demo, approved by erin (a second admin), against the simulator: what the person is told
 * beside what the hosts received.
 */
const chat = demoChat(
  (c) => ({ ...c, people: { ...c.people, erin: { roles: ['admin'], identities: { terminal: 'erin' }, onCall: false } } }) as Config,
);
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';
const lastSeq = () => chat.stack.sim.log.entries.at(-1)?.seq ?? 0;

describe('/migrate whose read-back fails after the guest moved', () => {
  it("says the outcome is unknown, not that the migration failed, when the target's xl list exits 1", async () => {
    const id = idOf(await chat.say('@alice /migrate web xen2'));
    expect(id).not.toBe('');
    // Held long enough to arm the target's failure between the migration's start and its read-back.
    chat.stack.sim.faults.delayNext('xen1', { match: /xl migrate/, ms: 800 });
    const since = lastSeq();
    const mark = chat.t.output().length;
    // Every list on xen2 fails until the result is in (a refresh or the sampler may list it meanwhile too).
    const armed = chat.stack.sim.log
      .waitFor({ host: 'xen1', since, match: /xl migrate/, timeoutMs: 10_000 })
      .then(() =>
        chat.stack.sim.faults.add('xen2', { kind: 'fail', match: /xl list/, code: 1, stderr: 'cannot init xl context\n', times: 0 }),
      );
    await chat.say(`@erin /approve ${id}`);
    const fault = await armed;
    const result = await chat.printed(/✖ Migration of web[^\n]*\n[^\n]*/, mark);
    await chat.stack.sim.faults.remove(fault.id);
    // Was "✖ Migration of web failed / ⚠ xen1: failed — xl list -v on xen2 exited 1: …" while web ran on xen2.
    expect(result).toBe(
      '✖ Migration of web: outcome unknown\n⚠ xen1: outcome unknown — xl migrate was sent to xen1 and reported success, but xl list -v on xen2 exited 1: cannot init xl context; nothing was re-run — check both hosts',
    );
    const sim = chat.stack.sim;
    expect(sim.fleet.findDomain(sim.fleet.host('xen2'), 'web')).toBeDefined();
    expect(sim.fleet.findDomain(sim.fleet.host('xen1'), 'web')).toBeUndefined();
    expect(chat.sent('xen1', /\bmigrate\b/)).toBe(1);
  }, 30_000);
});
