import { describe, expect, it } from 'vitest';
import type { Reply } from '../../src/core/reply.ts';
import type { SimFleetSpec } from '../../src/sim/index.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { type OperatorsStack, operatorsPerTest, sendAs } from '../helpers/operators.ts';
import { bodyOf as textOf } from '../helpers/status-outcomes.ts';

/**
 * A guest that xl migrates successfully and that crashes on its target as soon as it runs there (the simulator's
 * crashOnArrival fault; on_crash="preserve" keeps it listed crashed and paused, `--psc-`). xl migrate said
 * "Migration successful." and exited 0: the guest is on the target, not running. The replies must say so — not
 * "failed", not "still on xen1".
 */

type Stack = OperatorsStack<CaptureAdapter>;
const start = operatorsPerTest(() => new CaptureAdapter());

let counter = 0;

async function ask(s: Stack, text: string): Promise<Reply> {
  return s.adapter.finalReply(await sendAs(s, text, 'alice', `arrived-${++counter}`));
}

/** Where each guest is now, as the simulator holds it, with its flags (Domain-0 left out). */
function where(s: Stack): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, h] of s.env.sim.fleet.hosts)
    out[name] = h.domains
      .filter((d) => d.name !== 'Domain-0')
      .map((d) => `${d.name} ${d.flags}`)
      .sort();
  return out;
}

/** xen1 runs web 2048, db 1024; xen2 (16 GiB) and xen3 (16 GiB) run nothing. */
const FLEET: SimFleetSpec = {
  hosts: {
    xen1: {
      toolstack: 'xl',
      totalMemoryMiB: 16384,
      domains: [
        { name: 'web', memoryMiB: 2048, vcpus: 2, running: true },
        { name: 'db', memoryMiB: 1024, vcpus: 2, running: true },
      ],
    },
    xen2: { toolstack: 'xl', totalMemoryMiB: 16384, domains: [] },
    xen3: { toolstack: 'xl', totalMemoryMiB: 8192, domains: [] },
  },
};

describe('a guest that arrives crashed on the migration target', () => {
  it('/migrate says it is on xen2, crashed there — not "failed"', async () => {
    const s = await start(FLEET);
    await s.env.sim.faults.add('xen1', { kind: 'crashOnArrival', match: /\bmigrate\b.*\bweb\b/, onCrash: 'preserve' });
    const r = await ask(s, 'migrate web xen2');
    // What the simulated hosts hold: web moved, and crashed on xen2.
    expect(where(s)).toEqual({ xen1: ['db -b----'], xen2: ['web --psc-'], xen3: [] });
    // Was "✖ Migration of web failed".
    expect(r.title).toBe('web moved from xen1 to xen2 but is not running there: crashed');
    expect(r.tone).toBe('error');
    const text = textOf(r);
    expect(text).toContain(
      'the migration reported success, then web was read back on xen2 as crashed (--psc-): it is no longer on its old host',
    );
    expect(text).not.toMatch(/still on xen1|failed/);
  });

  it('/evacuate stops after that step and lists the guest as on xen2 (crashed), not "still on xen1"', async () => {
    const s = await start(FLEET);
    await s.env.sim.faults.add('xen1', { kind: 'crashOnArrival', match: /\bmigrate\b.*\bweb\b/, onCrash: 'preserve' });
    const r = await ask(s, 'evacuate xen1');
    // The plan put web (the larger) first; it crashed on its target, so db was not sent anywhere.
    expect(where(s)['xen1']).toEqual(['db -b----']);
    const target = Object.entries(where(s)).find(([, ds]) => ds.includes('web --psc-'))?.[0];
    expect(target).toMatch(/^xen[23]$/);
    expect(r.title).toBe('Evacuation of xen1 stopped at step 1 of 2');
    const lines = textOf(r).split('\n');
    expect(lines[0]).toBe(`✖ 1. web → ${target}: moved, but not running there: crashed (--psc-)`);
    expect(lines[1]).toMatch(new RegExp(`^the migration reported success, then web was read back on ${target} as crashed \\(--psc-\\)`));
    expect(lines[2]).toMatch(/^– 2\. db → xen[23]: not attempted$/);
    expect(lines[3]).toBe(`moved: web → ${target} (not running there: crashed)`);
    // Was "not moved, still on xen1: web (failed), db (not attempted)".
    expect(lines[4]).toBe('not moved, still on xen1: db (not attempted)');
    expect(textOf(r)).toContain('xen1 was not frozen: the evacuation did not complete');
  });
});

/**
 * The same crash with xl's default on_crash, destroy: the target's xl daemon clears the guest away as soon as it
 * crashed. xl migrate still said "Migration successful.": the guest is running on neither host, and nothing read shows
 * where it went. The replies must say that — not "failed", not "still on xen1", and no record of it on the target.
 */
describe('a guest destroyed by its on_crash as soon as it arrives on the migration target', () => {
  it('/migrate says xl reported it done and that it runs on neither host — not "failed"', async () => {
    const s = await start(FLEET);
    await s.env.sim.faults.add('xen1', { kind: 'crashOnArrival', match: /\bmigrate\b.*\bweb\b/, onCrash: 'destroy' });
    const r = await ask(s, 'migrate web xen2');
    expect(where(s)).toEqual({ xen1: ['db -b----'], xen2: [], xen3: [] });
    // Was "Migration of web failed" with "(now on xen1: not running (defined), on xen2: absent)".
    expect(r.title).toBe('web left xen1 but is running on neither host: it is not on xen2');
    expect(r.tone).toBe('error');
    const text = textOf(r);
    expect(text).toContain(
      'the migration reported success, then web was read back on neither host: not on xen2 (only its config file is there) and not running on xen1 (only its config file is there)',
    );
    expect(text).toContain('it most likely crashed as soon as it ran on xen2 and was destroyed there by its on_crash action');
    expect(text).toContain('otherwise where it went is not known');
    expect(text).not.toMatch(/still on xen1|failed/);
    // Nothing was made up: no id, no state on xen2.
    expect(text).not.toMatch(/running (there|on xen2) as id/);
  });

  it('/evacuate stops there and lists the guest as running on neither host, not "still on xen1 (failed)"', async () => {
    const s = await start(FLEET);
    await s.env.sim.faults.add('xen1', { kind: 'crashOnArrival', match: /\bmigrate\b.*\bweb\b/, onCrash: 'destroy' });
    const r = await ask(s, 'evacuate xen1');
    expect(where(s)['xen1']).toEqual(['db -b----']);
    const target = s.env.sim.fleet.log.entries
      .find((e) => /\bmigrate\b.*\bweb\b/.test(e.command))
      ?.command.replace(/'/g, '')
      .match(/\bweb (xen[23])$/)?.[1];
    expect(target).toMatch(/^xen[23]$/);
    expect(r.title).toBe('Evacuation of xen1 stopped at step 1 of 2');
    const lines = textOf(r).split('\n');
    expect(lines[0]).toBe(`✖ 1. web → ${target}: running on neither host after the migration reported success`);
    expect(lines[1]).toMatch(new RegExp(`^the migration reported success, then web was read back on neither host: not on ${target}`));
    expect(lines[2]).toMatch(/^– 2\. db → xen[23]: not attempted$/);
    expect(lines[3]).toBe('moved: nothing');
    // Was "not moved, still on xen1: web (failed), db (not attempted)".
    expect(lines[4]).toBe('not moved, still on xen1: db (not attempted)');
    expect(lines[5]).toBe(`running on neither host (left xen1, not on its target): web → ${target}`);
    expect(textOf(r)).toContain('xen1 was not frozen: the evacuation did not complete');
  });
});
