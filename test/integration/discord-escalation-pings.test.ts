import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.ts';
import { discordStack, embeds } from '../helpers/discord-stack.ts';

/**
 * Escalation as Discord users meet it: each step calls on the people it adds, and only them — someone called on at
 * the first step is not pinged again at the second. A rotation makes bob on call today and dave next; steps come
 * every 0.6 s (escalateMinutes set below what the config schema takes, so the test does not wait minutes).
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-escalation-token';
const ALICE = '200000000000000001';
const DAVE = '200000000000000004';
const APPROVALS = '300000000000000009';

const today = new Date().toISOString().slice(0, 10);
const { dc } = discordStack({
  token: TOKEN,
  approvalsChannel: APPROVALS,
  adjustConfig: (c: Config): Config => ({
    ...c,
    approvals: { ...c.approvals, escalateMinutes: 0.01 },
    oncall: {
      timezone: 'UTC',
      rotation: { people: ['bob', 'dave'], period: 'daily', handoff: '00:00', start: today },
      overrides: [],
    },
  }),
});

describe('escalation pings on Discord', () => {
  it('dave, called on when the request is escalated to him, is not pinged again at the next step', async () => {
    const asked = dc.interact(ALICE, { id: '1', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: 'files' }] });
    const card = await dc.waitFor(
      (c) => c.method === 'PATCH' && c.route.includes(`/${asked.token}/messages/@original`) && embeds(c).includes('Approval needed'),
    );
    expect(embeds(card)).toContain('files');
    // The second step reaches the approvals channel's card after alice's: by then alice's card has had its pings.
    await dc.waitFor(
      (c) => c.method === 'PATCH' && c.route.startsWith(`/channels/${APPROVALS}/messages/`) && embeds(c).includes('Not escalated'),
    );
    const daveInOps = dc.notifications.filter((n) => n.userId === DAVE && dc.messages.get(n.messageId)?.channelId === dc.channelId);
    expect(daveInOps).toHaveLength(1);
  }, 60_000);
});
