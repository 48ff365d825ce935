import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { show } from '../../../commands/show.ts';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../../../test/helpers/sim.ts';
import { renderDiscord } from '../../adapters/discord/render.ts';
import { renderTelegram, TELEGRAM_TEXT_LIMIT, visibleLength } from '../../adapters/telegram/render.ts';
import { renderContext } from '../../core/define-command.ts';
import type { SshPool } from '../ssh/pool.ts';

/**
 * Every line /show cannot read becomes a note (a vif it cannot parse, a line of network-list…): a host or a config
 * that has thousands of them (a generated config gone wrong, a toolstack printing a debug dump) must not make a
 * page of thousands of notes — in the job result, the reply, or its attachment.
 */
let env: SimEnv;
let pool: SshPool;

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet() });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

describe('/show of a domain whose config has 3,000 vifs it cannot read', () => {
  it('keeps a bounded number of notes, each of bounded length, and says how many more there were', async () => {
    const vifs = Array.from({ length: 3000 }, (_, i) => `'vif${i} ${'z'.repeat(2000)}'`).join(',\n  ');
    env.sim.fleet.host('xen1').files.set('/etc/xen/vm/mail.cfg', `name = 'mail'\nmemory = 1024\nvcpus = 2\nvif = [\n  ${vifs}\n]\n`);
    const detail = await simToolstack(pool, 'xen1', 'xl', { configDirs: ['/etc/xen/vm'] }).show('mail');
    // The job result (through Redis to the bot) stays small.
    expect(detail.notes.length).toBeLessThanOrEqual(51);
    for (const n of detail.notes) expect(n.length).toBeLessThanOrEqual(1100);
    expect(detail.notes.at(-1)).toMatch(/2,950 more notes/);

    const reply = show.render(
      [{ host: 'xen1', ok: true, result: { host: 'xen1', toolstack: 'xl', ...detail } }],
      { domain: { domain: 'mail' } },
      renderContext(),
    );
    const file = String(reply.attachments?.[0]?.data ?? '');
    expect(file.length).toBeLessThanOrEqual(80_000);
    expect(file).toMatch(/2,950 more notes/);
    expect(renderDiscord(reply).embeds[0]?.description ?? '').not.toContain('The full output');
    expect(visibleLength(renderTelegram(reply).html)).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
  });
});
