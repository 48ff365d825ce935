import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleCommand } from '../../../commands/console.ts';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../../../test/helpers/sim.ts';
import { renderDiscord } from '../../adapters/discord/render.ts';
import { renderTelegram, TELEGRAM_TEXT_LIMIT, visibleLength } from '../../adapters/telegram/render.ts';
import { renderContext } from '../../core/define-command.ts';
import type { Reply } from '../../core/reply.ts';
import type { ConsoleResult } from '../../core/xen.ts';
import { consoleLogPath } from '../../sim/model.ts';
import type { SshPool } from '../ssh/pool.ts';

/**
 * A guest that prints without line ends (a runaway loop, a binary dumped to the serial console, a kernel panic's
 * hexdump) leaves a log line of megabytes: /console must neither carry it whole through Redis nor put it in the reply,
 * where Discord and Telegram turn the whole message into a file; what it leaves out it says.
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

function setLog(text: string): void {
  env.sim.fleet.host('xen1').files.set(consoleLogPath('web'), text);
}

async function snapshot(lines: number): Promise<{ result: ConsoleResult; reply: Reply }> {
  const result = await simToolstack(pool, 'xen1').consoleSnapshot('web', lines);
  const reply = consoleCommand.render(
    [{ host: 'xen1', ok: true, result: { host: 'xen1', domain: 'web', ...result } }],
    { domain: { domain: 'web' }, lines },
    renderContext(),
  );
  return { result, reply };
}

const inline = (r: Reply) => r.blocks.flatMap((b) => (b.type === 'code' ? b.text.split('\n') : []));
const said = (r: Reply) => r.blocks.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');

describe('/console of a log with a huge line', () => {
  it('one 200,000-character line: cut in the message and in the snapshot, each saying so; the message stays a message', async () => {
    setLog(`Debian GNU/Linux 12 web hvc0\n${'A'.repeat(200_000)}\nweb login: \n`);
    const { result, reply } = await snapshot(20);
    // The snapshot the agent hands on keeps the line's start and says how much is left out.
    const long = result.lines.find((l) => l.startsWith('AAAA'));
    expect(long?.length).toBeLessThanOrEqual(1100);
    expect(long).toMatch(/199,000 more characters/);
    expect(result.lines.at(-1)).toBe('web login:');
    // Inline: every line short enough for 15 of them to fit a message, and the cut said in words.
    for (const line of inline(reply)) expect(line.length).toBeLessThanOrEqual(240);
    expect(inline(reply).at(-1)).toBe('web login:');
    expect(said(reply)).toMatch(/cut/);
    const dc = renderDiscord(reply);
    expect(dc.embeds[0]?.description ?? '').not.toContain('The full output');
    expect(visibleLength(renderTelegram(reply).html)).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    // The attachment has the line as the agent kept it.
    expect(String(reply.attachments?.[0]?.data)).toContain(long);
  });

  it('fifteen long lines at the inline limit still fit one Discord message and one Telegram message', async () => {
    setLog(`${Array.from({ length: 15 }, (_, i) => `${i} ${'é'.repeat(600)}`).join('\n')}\n`);
    const { reply } = await snapshot(15);
    expect(renderDiscord(reply).embeds[0]?.description ?? '').not.toContain('The full output');
    expect(visibleLength(renderTelegram(reply).html)).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(reply.attachments?.length).toBe(1);
  });

  it('2,000 lines of 5,000 characters (10 MB): the agent reads a bounded tail and says it did', async () => {
    setLog(`${Array.from({ length: 2000 }, (_, i) => `${i}:${'x'.repeat(5000)}`).join('\n')}\n`);
    const { result, reply } = await snapshot(2000);
    const total = result.lines.reduce((n, l) => n + l.length + 1, 0);
    expect(total).toBeLessThanOrEqual(300_000);
    expect(result.lines.at(-1)).toMatch(/^1999:x+/);
    // Fewer lines than asked for: the reply says the read stopped, not that the log holds only these.
    expect(result.lines.length).toBeLessThan(2000);
    expect(said(reply)).toMatch(/last 256 KiB/);
    const file = String(reply.attachments?.[0]?.data);
    expect(file.length).toBeLessThanOrEqual(320_000);
  });
});
