import { describe, expect, it } from 'vitest';
import { isFinal, type Reply } from '../../src/core/reply.ts';
import { operatorsScene } from '../helpers/operators.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { twoHostFleet } from '../helpers/sim.ts';

/**
 * The bot edits an agent's progress lines into the asker's message at most every 750 ms. A line that came within
 * that interval of the one before was dropped for good: the message went on showing the earlier line, though the
 * agent had moved on (a migration's "xen2 stopped answering", said once, was lost so).
 */
const scene = operatorsScene(twoHostFleet(), {
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
  sampling: { enabled: false },
});

const textOf = (r: Reply) => r.blocks.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');

describe('progress lines close together', () => {
  it('GIVEN two lines within the interval and the job still running THEN the latest is shown, not dropped', async () => {
    const { sim } = scene.env;
    // "checking xen2 for mail", "creating mail", then (xl create taking 300 ms) "waiting for mail to show as running":
    // all within 750 ms.
    sim.faults.delayNext('xen1', { match: /\bxl create\b/, ms: 300 });
    const req = chatRequest('progress-latest-1', 'start mail');
    await scene.bot.core.handle(req, targetOf(req));
    await sim.log.waitFor({ host: 'xen1', match: /\bxl create\b/, timeoutMs: 10_000 });
    // The read-back after it is held 2 s: the job runs on, and nothing more is said meanwhile.
    sim.faults.delayNext('xen1', { match: /\bxl list\b/, ms: 2_000 });
    const final = await scene.adapter.finalReply(req.id);
    expect(final.title).toBe('mail started on xen1');
    const lines = scene.adapter.delivered.filter((d) => d.target.requestId === req.id && !isFinal(d.reply)).map((d) => textOf(d.reply));
    // What the message showed while the read-back was held: the agent's latest line, not one it had moved on from.
    expect(lines.at(-1)).toContain('waiting for mail to show as running');
  }, 30_000);
});
