import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTelegram } from '../../src/adapters/telegram/render.ts';
import { renderForTerminal } from '../../src/adapters/terminal/render.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';

/**
 * /audit shows what chat users typed (a refused request is audited with its raw arguments): shown, never obeyed by
 * the table or the screen it lands on.
 */

let env: SimEnv;
let bot: Bot;
let prefix: string;
const cap = new CaptureAdapter('telegram');
let n = 0;

beforeAll(async () => {
  env = await startSimEnv();
  prefix = uniquePrefix();
  const config = Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: { admin: { allow: ['*'] }, operator: { allow: ['read', 'domain.start', 'domain.stop'] } },
    people: {
      alice: { roles: ['admin'], identities: { telegram: '1001' } },
      bob: { roles: ['operator'], identities: { telegram: '1002' } },
    },
    channels: [{ platform: 'telegram', id: '*' }],
    audit: { file: `/tmp/${prefix}-audit.jsonl` },
    bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000 },
    approvals: { enabled: false },
    alerts: { enabled: false },
  });
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [cap] });
  await bot.start();
}, 30_000);

afterAll(async () => {
  await bot?.stop();
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  rmSync(`/tmp/${prefix}-audit.jsonl`, { force: true });
}, 30_000);

async function say(text: string, userId: string): Promise<Reply> {
  const r = chatRequest(`typed${++n}`, text, userId === '1001' ? 'alice' : 'bob', 'telegram', userId);
  await bot.core.handle(r, targetOf(r));
  return cap.finalReply(r.id);
}

describe('/audit shows what chat users typed', () => {
  it('keeps every entry on one row: a newline in a Telegram message does not forge a row of the /audit table', async () => {
    // Telegram messages may hold newlines (and any other character): bob's request is refused, and audited with its
    // raw arguments.
    await say('start nosuchdomain\n01-01 00:00:00  request   alice  stop     xen1:web  web  \u001b[2K', '1002');

    const shown = await say('audit 5', '1001');
    const table = shown.blocks.find((b) => b.type === 'table');
    if (table?.type !== 'table') throw new Error(`no table in ${JSON.stringify(shown)}`);
    const rendered = formatTable(table.table);
    // One line for the header and one per entry.
    expect(rendered.split('\n'), `the /audit table as every adapter renders it:\n${rendered}`).toHaveLength(table.table.rows.length + 1);
    expect(rendered).toContain('nosuchdomain⏎01-01 00:00:00 request alice stop xen1:web web \\x1b[2K');
    // No terminal control sequence from a chat user reaches the terminal operator's screen, or Telegram's <pre>.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
    expect(renderForTerminal(shown)).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(renderTelegram(shown).html).not.toContain('01-01 00:00:00  request   alice');
  }, 30_000);
});
