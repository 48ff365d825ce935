import { describe, expect, it } from 'vitest';
import { demoChat } from '../helpers/stack.ts';

/**
 * /start, /pause and /unpause whose SSH connection to the host drops while the command runs, in the terminal demo
 * against the simulator. What became of the command is not known (the guest may come up, or be paused, afterwards), so
 * the headline says "outcome unknown", as the line under it does — never "Could not …", which claims a
 * failure while the guest may be up a moment later.
 */
const chat = demoChat();
const finalOf = (out: string) => out.slice(out.search(/^[✔✖ℹ⚠] /m)).trimEnd();
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

/** Asks as alice, approves as bob (on call), and returns the final reply's title line and the line under it. */
async function approved(line: string): Promise<string> {
  const id = idOf(await chat.say(line));
  expect(id).not.toBe('');
  const mark = chat.t.output().length;
  await chat.say(`@bob /approve ${id}`);
  return chat.printed(/^[✔✖ℹ⚠] (Pause of web|Could not pause web|web paused)[^\n]*\n[^\n]*/m, mark);
}

describe('a mutation whose connection drops while its command runs', () => {
  it('GIVEN mail defined on xen1 WHEN /start mail loses its connection during xl create THEN "Start of mail: outcome unknown"', async () => {
    chat.stack.sim.faults.dropNext('xen1', { match: /xl create/ });
    const out = finalOf(await chat.say('/start mail'));
    expect(out).toBe(
      '✖ Start of mail: outcome unknown\n⚠ xen1: outcome unknown — lost the connection to xen1 while xl create ran; mail is not up there (now: not running (defined)), and nothing was re-run',
    );
  }, 30_000);

  it('GIVEN xl create refused on xen1 WHEN /start mail THEN a real failure keeps "Could not start", an error', async () => {
    chat.stack.sim.faults.failNext('xen1', { match: /xl create/, code: 1, stderr: 'libxl: error: out of memory' });
    const out = finalOf(await chat.say('/start mail'));
    expect(out).toMatch(/^✖ Could not start mail\n⚠ xen1: (?!outcome unknown)/);
  }, 30_000);

  it('GIVEN web running on xen1 WHEN /pause web loses its connection during xl pause THEN "Pause of web: outcome unknown"', async () => {
    chat.stack.sim.faults.dropNext('xen1', { match: /xl pause/ });
    const out = await approved('/pause web');
    expect(out).toMatch(/^✖ Pause of web: outcome unknown\n⚠ xen1: outcome unknown — lost the connection to xen1 while xl pause ran; /);
  }, 30_000);

  it('GIVEN web paused on xen1 WHEN /unpause web loses its connection during xl unpause THEN "Unpause of web: outcome unknown"', async () => {
    expect(await chat.byHand('xen1', 'xl pause web')).toBe(0);
    chat.stack.sim.faults.dropNext('xen1', { match: /xl unpause/ });
    const out = finalOf(await chat.say('/unpause web'));
    expect(out).toMatch(/^✖ Unpause of web: outcome unknown\n⚠ xen1: outcome unknown — lost the connection to xen1 while xl unpause ran; /);
  }, 30_000);

  it('GIVEN mail not autostarted WHEN /autostart mail on loses its connection during ln -s THEN "Autostart change of mail: outcome unknown"', async () => {
    chat.stack.sim.faults.dropNext('xen1', { match: /ln -s/ });
    const out = finalOf(await chat.say('/autostart mail on'));
    expect(out).toMatch(/^✖ Autostart change of mail: outcome unknown\n⚠ xen1: outcome unknown — /);
  }, 30_000);
});
