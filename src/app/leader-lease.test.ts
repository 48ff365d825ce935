import { describe, expect, it } from 'vitest';
import {
  afterAttempt,
  atTime,
  type LeaseOutcome,
  type LeaseState,
  leaseTiming,
  nextAttemptAt,
  STANDBY,
  worstTakeoverMs,
} from './leader-lease.ts';

const T = leaseTiming(6_000);

describe('lease timing', () => {
  it('derives renewal, acquisition, margin and command timeout from the lease', () => {
    expect(T).toEqual({ leaseMs: 6_000, renewEveryMs: 1_500, acquireEveryMs: 500, marginMs: 2_000, commandTimeoutMs: 750 });
    // Two renewals (each with its timeout) fit before the leader must step down.
    expect(2 * T.renewEveryMs + T.commandTimeoutMs).toBeLessThanOrEqual(T.leaseMs - T.marginMs);
    // A killed leader's standby has the lease well within 10 s, adapter start-up included.
    expect(worstTakeoverMs(T)).toBeLessThanOrEqual(7_500);
    expect(leaseTiming(1_500).acquireEveryMs).toBe(125);
    expect(leaseTiming(600).acquireEveryMs).toBe(50);
  });

  it('a held lease makes a leader until sentAt + lease − margin, counted from when the command was sent', () => {
    const s = afterAttempt(STANDBY, 'held', 10_000, 10_040, T);
    expect(s).toEqual({ role: 'leader', until: 14_000 });
    expect(atTime(s, 13_999).role).toBe('leader');
    expect(atTime(s, 14_000)).toEqual(STANDBY);
    expect(nextAttemptAt(s, 10_000, T)).toBe(11_500);
    expect(nextAttemptAt(STANDBY, 10_000, T)).toBe(10_500);
  });

  it('a renewal moves the end on; no answer leaves it; a foreign key ends leadership at once', () => {
    const leader: LeaseState = { role: 'leader', until: 14_000 };
    expect(afterAttempt(leader, 'held', 11_500, 11_510, T)).toEqual({ role: 'leader', until: 15_500 });
    expect(afterAttempt(leader, 'error', 11_500, 12_250, T)).toEqual(leader);
    expect(afterAttempt(leader, 'error', 13_500, 14_250, T)).toEqual(STANDBY);
    expect(afterAttempt(leader, 'taken', 11_500, 11_510, T)).toEqual(STANDBY);
    expect(afterAttempt(STANDBY, 'error', 11_500, 12_250, T)).toEqual(STANDBY);
    expect(afterAttempt(STANDBY, 'taken', 11_500, 11_510, T)).toEqual(STANDBY);
  });

  it('an answer that arrives after the time it would grant is not acted on', () => {
    // Sent at 10 000, answered 4.5 s later: the lease it extended ends (for acting) at 14 000 — already past.
    expect(afterAttempt(STANDBY, 'held', 10_000, 14_500, T)).toEqual(STANDBY);
    expect(afterAttempt({ role: 'leader', until: 13_000 }, 'held', 10_000, 14_000, T)).toEqual(STANDBY);
  });

  it('a leader cut off from Redis steps down at least a margin before its key can lapse, after two tries', () => {
    // Last good renewal sent at 20 000 (Redis applied it later, so the key lives until ≥ 26 000).
    let s = afterAttempt(STANDBY, 'held', 20_000, 20_005, T);
    let sent = 20_000;
    let until = s.until;
    let tries = 0;
    while (s.role === 'leader') {
      sent = nextAttemptAt(s, sent, T);
      const now = Math.min(sent + T.commandTimeoutMs, until);
      if (now >= until) break;
      tries++;
      const next = afterAttempt(s, 'error', sent, now, T);
      if (next.role === 'leader') until = next.until;
      s = next;
    }
    expect(tries).toBe(2);
    expect(until).toBe(24_000);
    expect(atTime(s, until - 1).role).toBe('leader');
    expect(atTime(s, until)).toEqual(STANDBY);
    expect(until + T.marginMs).toBeLessThanOrEqual(20_000 + T.leaseMs);
  });
});

/** A seeded PRNG: the simulation is the same on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

interface SimBot {
  name: string;
  state: LeaseState;
  alive: boolean;
  /** Intervals in which it acted as leader, extended by the margin its adapters may take to stop. */
  terms: [number, number][];
  termStart: number | null;
}

/**
 * Two bots against a model of the lease key (TTL counted from when Redis applies a command), with random network
 * delays, lost requests, lost answers and answers slower than the command timeout. Each bot acts only on the pure
 * functions above. Returns the bots with their leadership intervals.
 */
function simulate(
  seed: number,
  options: { ms: number; loss: number; killAt?: number; slow?: number },
  seen: { retaken: number } = { retaken: 0 },
): SimBot[] {
  const random = rng(seed);
  const key: { owner: string | null; expires: number } = { owner: null, expires: 0 };
  const bots: SimBot[] = ['a', 'b'].map((name) => ({ name, state: STANDBY, alive: true, terms: [], termStart: null }));
  type Ev = { at: number; run: () => void };
  const queue: Ev[] = [];
  const at = (time: number, run: () => void) => {
    queue.push({ at: time, run });
    queue.sort((x, y) => x.at - y.at);
  };
  const observe = (bot: SimBot, now: number) => {
    const s = atTime(bot.state, now);
    if (s.role === 'leader' && bot.termStart === null) bot.termStart = now;
    if (s.role === 'standby' && bot.termStart !== null) {
      // It stopped acting at the end of its time (or now, when told the key is gone), adapters stopping within the margin.
      const end = Math.min(now, bot.state.role === 'leader' ? bot.state.until : now);
      bot.terms.push([bot.termStart, end + T.marginMs]);
      bot.termStart = null;
    }
    bot.state = s;
  };
  // The lease's one script (ACQUIRE), for a standby's acquire and a leader's renewal alike: a free key is taken, one's
  // own extended, another's left.
  const apply = (bot: SimBot, when: number, renewal: boolean): boolean => {
    const lapsed = key.owner === null || when >= key.expires;
    // A leader's renewal that finds the key free (it lapsed while the renewal was on its way) takes it again.
    if (lapsed && renewal) seen.retaken++;
    if (lapsed || key.owner === bot.name) {
      key.owner = bot.name;
      key.expires = when + T.leaseMs;
      return true;
    }
    return false;
  };
  const attempt = (bot: SimBot, sent: number) => {
    if (!bot.alive) return;
    observe(bot, sent);
    // `slow`: that share of requests reaches Redis up to 9 s late (a stalled connection), long after the command
    // timed out and the bot stopped waiting for it — and possibly after the key lapsed.
    const there = sent + (options.slow !== undefined && random() < options.slow ? random() * 9_000 : random() * 400);
    const lostRequest = random() < options.loss;
    const back = there + random() * 400;
    const lostAnswer = lostRequest || random() < options.loss || back - sent > T.commandTimeoutMs;
    const answered = lostAnswer ? sent + T.commandTimeoutMs : back;
    // Applied when it reaches Redis, in time order with every other command (a late one after later ones), even if
    // its bot has died or given up on it meanwhile.
    let held = false;
    const renewal = bot.state.role === 'leader';
    if (!lostRequest)
      at(there, () => {
        held = apply(bot, there, renewal);
      });
    at(answered, () => {
      if (!bot.alive) return;
      const outcome: LeaseOutcome = lostAnswer ? 'error' : held ? 'held' : 'taken';
      observe(bot, answered);
      const before = bot.state;
      bot.state = afterAttempt(bot.state, outcome, sent, answered, T);
      if (before.role === 'leader' && bot.state.role === 'standby' && bot.termStart !== null) {
        bot.terms.push([bot.termStart, Math.min(answered, before.until) + T.marginMs]);
        bot.termStart = null;
      }
      observe(bot, answered);
      const next = Math.max(answered, nextAttemptAt(bot.state, sent, T));
      at(next, () => attempt(bot, next));
      // The step-down timer.
      if (bot.state.role === 'leader') {
        const until = bot.state.until;
        at(until, () => bot.alive && observe(bot, until));
      }
    });
  };
  at(0, () => attempt(bots[0] as SimBot, 0));
  at(37, () => attempt(bots[1] as SimBot, 37));
  if (options.killAt !== undefined) {
    const killAt = options.killAt;
    at(killAt, () => {
      for (const bot of bots) {
        if (atTime(bot.state, killAt).role !== 'leader') continue;
        bot.alive = false;
        if (bot.termStart !== null) bot.terms.push([bot.termStart, killAt]);
        bot.termStart = null;
        bot.state = STANDBY;
      }
    });
  }
  while (queue.length > 0) {
    const ev = queue.shift() as Ev;
    if (ev.at > options.ms) break;
    ev.run();
  }
  for (const bot of bots) if (bot.termStart !== null) bot.terms.push([bot.termStart, options.ms]);
  return bots;
}

function overlaps(a: [number, number][], b: [number, number][]): [number, number][][] {
  const out: [number, number][][] = [];
  for (const x of a) for (const y of b) if (x[0] < y[1] && y[0] < x[1]) out.push([x, y]);
  return out;
}

describe('two bots on the lease (simulated network: delays, losses, slow answers)', () => {
  it('never act as leader at the same time, adapters stopping time included', () => {
    let handovers = 0;
    for (const seed of [1, 2, 3, 42, 1234, 99_991]) {
      const [a, b] = simulate(seed, { ms: 20 * 60_000, loss: 0.25 }) as [SimBot, SimBot];
      expect(overlaps(a.terms, b.terms), `seed ${seed}`).toEqual([]);
      handovers += a.terms.length + b.terms.length;
    }
    // Losses this heavy do move the lease around: the check above is not vacuous.
    expect(handovers).toBeGreaterThan(20);
  });

  it('never at the same time either when requests reach Redis long after they timed out, renewals taking lapsed keys', () => {
    const seen = { retaken: 0 };
    for (let seed = 100; seed < 140; seed++) {
      const [a, b] = simulate(seed, { ms: 20 * 60_000, loss: 0.4, slow: 0.4 }, seen) as [SimBot, SimBot];
      expect(overlaps(a.terms, b.terms), `seed ${seed}`).toEqual([]);
    }
    // The case a leader's renewal is now allowed (it used to be refused): taken here, and still no two leaders.
    expect(seen.retaken).toBeGreaterThan(10);
  });

  it('a killed leader is replaced within worstTakeoverMs when the network is sound', () => {
    for (const seed of [5, 6, 7]) {
      const killAt = 30_000;
      const bots = simulate(seed, { ms: 60_000, loss: 0, killAt });
      const dead = bots.find((x) => !x.alive);
      const other = bots.find((x) => x.alive);
      expect(dead, `seed ${seed}: a leader was killed`).toBeDefined();
      const next = other?.terms.find(([start]) => start >= killAt);
      expect(next, `seed ${seed}: the other bot took over`).toBeDefined();
      expect((next?.[0] ?? Number.POSITIVE_INFINITY) - killAt).toBeLessThanOrEqual(worstTakeoverMs(T) + 400);
    }
  });
});
