import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger } from '../helpers/sim.ts';

/**
 * One agent often serves a whole fleet: while it is down, a lookup says that no agent serves the hosts instead of
 * "no such domain" — in one readable answer at 300 hosts, not one clause per host.
 */
const HOSTS = 300;
const prefix = uniquePrefix();
const config = Config.parse({
  redis: { url: REDIS_URL, prefix },
  hosts: Object.fromEntries(
    Array.from({ length: HOSTS }, (_, i) => [
      `h${String(i + 1).padStart(3, '0')}`,
      // No agent serves them: nothing is ever asked of these addresses.
      { address: '127.0.0.1', port: 1, privateKey: 'unused', hostKey: `SHA256:${'A'.repeat(43)}` },
    ]),
  ),
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
  channels: [{ platform: 'terminal', id: '*' }],
  audit: { file: `/tmp/${prefix}-audit.jsonl` },
  bot: { fleetRefreshMs: 600_000 },
  sampling: { enabled: false },
  approvals: { enabled: false },
});

let bot: Awaited<ReturnType<typeof createBot>>;
const adapter = new CaptureAdapter();
beforeAll(async () => {
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await bot.start();
}, 60_000);
afterAll(async () => {
  await bot?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('a lookup while no agent serves the fleet', () => {
  it('says no agent serves the hosts, naming a few and counting the rest', async () => {
    const req = chatRequest('no-agent-1', 'show web');
    await bot.core.handle(req, targetOf(req));
    const r = await adapter.finalReply('no-agent-1');
    const text = JSON.stringify(r);
    expect(r.title).toBe('Cannot look that up');
    expect(text).toContain('no agent serves h001');
    expect(text).not.toContain('no domain named');
    expect(text).toContain(`${HOSTS - 5} more hosts`);
    expect(text.length).toBeLessThan(1_000);
  });
});
