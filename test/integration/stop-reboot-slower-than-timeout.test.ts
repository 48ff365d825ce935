import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conversation, conversation, startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * A guest that takes longer than its host's `shutdownTimeoutSeconds` to shut down (or to reboot) is still acting on
 * the request when the wait runs out: `xl shutdown -w` is ended by `timeout` (124) but the request stays in xenstore,
 * and `xl reboot` has already been told. Said as a failure ("Could not stop web … failed — did not shut down"), an
 * operator would take the guest for hung and force it — a hard power-off in the middle of a clean shutdown. The reply
 * says the outcome is not known yet and that the guest may still be shutting down; nothing is sent again.
 *
 * The simulated guests here take 20 s (real time) to power off; the hosts give them 1 s.
 */
let t: TerminalStack;
let chat: Conversation;
const sent = (host: string, re: RegExp) => (t.stack.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c));

beforeAll(async () => {
  t = await startTerminalStack(
    (c) => ({
      ...c,
      approvals: { ...c.approvals, enabled: false },
      hosts: Object.fromEntries(Object.entries(c.hosts).map(([name, h]) => [name, { ...h, shutdownTimeoutSeconds: 1 }])),
    }),
    // 1,000 s at the simulator's 0.02 time scale: 20 s.
    { shutdownDelayMs: 1_000_000 },
  );
  chat = conversation(t);
  await chat.say('/list');
}, 60_000);
afterAll(async () => {
  t?.input.end();
  await t?.stack.stop();
});

/** The lines printed for a request, from its final reply on. */
const finalOf = (printed: string) => printed.slice(printed.search(/^[✔✖ℹ⚠] /m)).trimEnd();

describe('a guest slower to go down than its host gives it', () => {
  it('/stop: "outcome unknown", the guest may still be shutting down — not "could not stop … failed", not "shut down"', async () => {
    const printed = finalOf(await chat.say('/stop web'));
    expect(printed).toBe(
      [
        '✖ Stop of web: outcome unknown',
        '⚠ xen1: outcome unknown — web has not shut down within 1 s on xen1 (now: blocked): the shutdown request stays with the guest, which may still be shutting down — check its console; if it is hung, an operator may stop it with force (a hard power-off)',
      ].join('\n'),
    );
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bweb\b/)).toEqual(['timeout 1 xl shutdown -w web']);
  });

  it('/reboot: "outcome unknown", the guest may still be rebooting — not "could not reboot … failed"', async () => {
    const printed = finalOf(await chat.say('/reboot gateway'));
    expect(printed).toMatch(
      /^✖ Reboot of gateway: outcome unknown\n⚠ xen1: outcome unknown — gateway did not reboot within \d+ s on xen1: still blocked \(id 1\), up since before the request — it may still be shutting down for the reboot, or it ignored the request; check its console$/,
    );
    expect(sent('xen1', /\b(reboot|destroy|create)\b.*\bgateway\b/)).toEqual(['xl reboot gateway']);
  });
});
