import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { domainSummary as dom } from '../../test/helpers/domains.ts';
import { FleetCache } from '../app/fleet-cache.ts';
import { Config } from '../config/schema.ts';
import { decide, isRejection, type PipelineContext } from './pipeline.ts';
import type { ChatRequest } from './request.ts';

/**
 * The stale check (bot.maxCommandAgeMs) over every number a request's `sentAt` may hold. Telegram's `date` is whole
 * seconds since 1970 (0 on a message the bot cannot access), copied as any finite number a malformed update holds;
 * Discord and the terminal send none. The fuzz test met `RangeError: Invalid time value` about once in 10,000 cases.
 */
const config = Config.parse({
  hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'A'.repeat(43)}` } },
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'], identities: { telegram: '1001' } } },
  channels: [{ platform: 'telegram', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };
const NOW = Date.UTC(2026, 2, 4, 12, 0, 0);

function fleet(): FleetCache {
  const f = new FleetCache(['xen1']);
  f.update('xen1', [dom('mail', 'defined')]);
  return f;
}

const sent = (sentAt: number, text = 'start mail'): ChatRequest => {
  const [command = '', ...rest] = text.split(' ');
  return {
    id: 'r1',
    platform: 'telegram',
    actor: { platform: 'telegram', userId: '1001', roleIds: [], displayName: 'alice' },
    channel: { id: '-100', kind: 'group' },
    command,
    args: { kind: 'text', text: rest.join(' ') },
    receivedAt: NOW,
    sentAt,
    source: 'command',
  };
};

/** The refusal's title and reason, or the decision's kind. */
function answer(req: ChatRequest): string {
  const d = decide(ctx, req, fleet(), true);
  if (!isRejection(d)) return d.kind;
  const first = d.reply.blocks[0];
  return `${d.reply.title}: ${first?.type === 'text' ? first.text : ''}`;
}

describe('a change whose sending time is no time', () => {
  // Before and past what a Date holds (±8.64e15 ms), and no number at all: its age cannot be judged.
  const noTimes = [-1e18, -8.64e15 - 1000, -Number.MAX_VALUE, 1e20, Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (const sentAt of noTimes) {
    it(`sentAt ${sentAt}: refused, saying the time cannot be read, never thrown`, () => {
      expect(answer(sent(sentAt))).toBe(
        `Too late: the time it was sent (${sentAt}) is no time, so its age is unknown: not run — send it again if it still applies`,
      );
    });
  }

  it('a read with such a time is answered as any read', () => {
    expect(answer(sent(-1e18, 'list xen1'))).toBe('enqueue');
  });
});

describe('a change sent more than a day ago', () => {
  it("says the date it was sent, not only the time of day (Telegram's date 0 is 1970)", () => {
    expect(answer(sent(0))).toBe(
      `Too late: sent at 1970-01-01 00:00 UTC (${Math.round(NOW / 3_600_000)} h ago) while xenops was not receiving: not run — send it again if it still applies`,
    );
    expect(answer(sent(NOW - 25 * 3_600_000))).toBe(
      'Too late: sent at 2026-03-03 11:00 UTC (25 h ago) while xenops was not receiving: not run — send it again if it still applies',
    );
  });

  it('within the day, the time of day as before', () => {
    expect(answer(sent(NOW - 3 * 3_600_000))).toBe(
      'Too late: sent at 09:00 UTC (3 h ago) while xenops was not receiving: not run — send it again if it still applies',
    );
  });
});

describe('a change the platform dates after the bot took it in', () => {
  it("runs, as before (its clock and the bot's disagree: its age is none)", () => {
    expect(answer(sent(NOW + 60_000))).toBe('enqueue');
  });
});
