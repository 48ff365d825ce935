import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleCommand } from '../../../commands/console.ts';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../../../test/helpers/sim.ts';
import { renderDiscord } from '../../adapters/discord/render.ts';
import { renderContext } from '../../core/define-command.ts';
import type { SshPool } from '../ssh/pool.ts';

/**
 * What a guest prints reaches the chat: escape sequences and C0/C1 controls are stripped, and so must be the
 * characters that reorder or break a line without being controls in the C0/C1 sense — bidi overrides and isolates
 * (U+202A-U+202E, U+2066-U+2069), the line/paragraph separators U+2028/U+2029. A guest printing RLO would make its
 * console line read backwards in Discord and Telegram (only the terminal adapter escapes them itself), and anyone
 * who can write to a guest's console (a user of the guest, a web form logged there) could make the ops channel read
 * what it likes. They are shown escaped (`\u202e`), as the rest of xenops shows host text, not acted on.
 */
let env: SimEnv;
let pool: SshPool;
const LOG = '/var/log/xen/console/guest-web.log';

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet() });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

describe('/console of a guest that printed bidi controls and line separators', () => {
  it('shows them escaped in the code block, not acting on the line', async () => {
    env.sim.fleet
      .host('xen1')
      .files.set(LOG, 'web login: root\nPassword check: \u202eKO :sutats\u202c\nmotd\u2028forged line\u2066x\u2069\n');
    const result = await simToolstack(pool, 'xen1').consoleSnapshot('web', 20);
    expect(env.sim.log.query({ host: 'xen1', match: /^tail -c \d+ \/var\/log\/xen\/console\/guest-web\.log$/u }).length).toBe(1);
    const reply = consoleCommand.render(
      [{ host: 'xen1', ok: true, result: { host: 'xen1', domain: 'web', ...result } }],
      { domain: { domain: 'web' }, lines: 20 },
      renderContext(),
    );
    const code = reply.blocks.find((b) => b.type === 'code');
    expect(code?.type === 'code' ? code.text : '').toBe(
      'web login: root\nPassword check: \\u202eKO :sutats\\u202c\nmotd\\u2028forged line\\u2066x\\u2069',
    );
    const description = renderDiscord(reply).embeds[0]?.description ?? '';
    expect(description).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u2028\u2029]/);
  });
});
