import { describe, expect, it } from 'vitest';
import type { FleetEvent } from '../queue/fleet-events.ts';
import { alertFor, unansweredReason } from './alerts.ts';

const at = Date.UTC(2026, 10, 25, 12, 0, 5);
const domain = (
  kind: 'domain.started' | 'domain.stopped' | 'domain.crashed' | 'domain.vanished' | 'domain.appeared',
  byXenops: boolean,
): FleetEvent => ({
  kind,
  host: 'xen1',
  domain: 'mail',
  uuid: null,
  byXenops,
  at,
});

describe('alertFor', () => {
  it('GIVEN xenops stopped or started the domain itself THEN no alert', () => {
    expect(alertFor(domain('domain.stopped', true))).toBeNull();
    expect(alertFor(domain('domain.started', true))).toBeNull();
    expect(alertFor(domain('domain.vanished', true))).toBeNull();
  });

  it('GIVEN the same change made outside xenops THEN an alert, keyed so repeats are one alert', () => {
    const a = alertFor(domain('domain.stopped', false), at + 60_000);
    expect(a?.key).toBe('stopped:xen1:mail');
    expect(a?.reply.title).toBe('mail stopped on xen1');
    expect(a?.reply.blocks).toEqual([
      {
        type: 'text',
        text: 'mail stopped on xen1 outside xenops: Xen no longer runs it (shut down from inside, destroyed by hand, or crashed with on_crash destroy; /console xen1:mail shows its last lines). (seen 12:00:05 UTC)',
      },
    ]);
    expect(alertFor(domain('domain.started', false))?.key).toBe('started:xen1:mail');
  });

  it('GIVEN an alert posted on a later day (retried, or taken over from a dead bot) THEN its time says the date too', () => {
    const late = alertFor(domain('domain.crashed', false), Date.UTC(2026, 10, 26, 0, 30));
    expect(late?.reply.blocks).toEqual([{ type: 'text', text: 'Xen reports mail as crashed on xen1. (seen 2026-11-25 12:00:05 UTC)' }]);
  });

  it('GIVEN a crash THEN always an alert, even during a xenops job', () => {
    expect(alertFor(domain('domain.crashed', true))?.reply.tone).toBe('error');
  });

  it('GIVEN a host that stopped answering and came back THEN two different alerts', () => {
    const down = alertFor({ kind: 'host.unreachable', host: 'xen2', reason: 'connection refused', at });
    const up = alertFor({ kind: 'host.reachable', host: 'xen2', at });
    expect(down?.reply.title).toBe('xen2 is unreachable');
    expect(up?.key).not.toBe(down?.key);
  });

  it('GIVEN a host connected but answering nothing (hung) THEN it is said not to be answering, not to be out of reach', () => {
    const reason = unansweredReason(25_000);
    expect(reason).toBe('it answered nothing for 25 s (the SSH connection is open; xentop printed no output)');
    const hung = alertFor({ kind: 'host.unreachable', host: 'xen2', reason, at, silentMs: 25_000 }, at + 1000);
    const refused = alertFor({ kind: 'host.unreachable', host: 'xen2', reason: 'connection refused', at });
    expect(hung?.reply.title).toBe('xen2 is not answering');
    expect(hung?.reply.blocks).toEqual([
      {
        type: 'text',
        text: "The agent's SSH connection to xen2 is open, but it answered nothing for 25 s: xentop printed no output. (seen 12:00:05 UTC)",
      },
    ]);
    // The same alert as any other unreachability: its return ends it, and a flap of either kind is one subject.
    expect(hung?.key).toBe(refused?.key);
    expect(hung?.subject).toBe(refused?.subject);
    expect(unansweredReason(600)).toBe('it answered nothing for 600 ms (the SSH connection is open; xentop printed no output)');
    // The reason alone (an agent that does not say silentMs) reads as any other: nothing is guessed from its words.
    expect(alertFor({ kind: 'host.unreachable', host: 'xen2', reason, at })?.reply.title).toBe('xen2 is unreachable');
    // Anything but a number is no silence.
    const odd = { kind: 'host.unreachable', host: 'xen2', reason, at, silentMs: '25000' } as unknown as FleetEvent;
    expect(alertFor(odd)?.reply.title).toBe('xen2 is unreachable');
  });
});

describe('alertFor: a guest renamed (xl rename)', () => {
  const renamed = (byXenops: boolean): FleetEvent => ({
    kind: 'domain.renamed',
    host: 'xen1',
    oldName: 'web',
    domain: 'www',
    uuid: 'u-web',
    byXenops,
    at,
  });

  it('GIVEN web renamed www outside xenops THEN one alert naming both, about the guest under its new name', () => {
    const a = alertFor(renamed(false), at + 60_000);
    expect(a?.reply.title).toBe('web was renamed www on xen1');
    expect(a?.reply.tone).toBe('warning');
    expect(a?.key).toBe('renamed:xen1:web:www');
    expect(a?.subject).toBe('xen1:www');
    expect(a?.reply.blocks).toEqual([
      { type: 'text', text: 'web on xen1 is now named www (the same domain), renamed outside xenops. (seen 12:00:05 UTC)' },
    ]);
  });

  it('GIVEN the rename was xenops’ own THEN no alert, as for its starts and stops', () => {
    expect(alertFor(renamed(true))).toBeNull();
  });
});
