import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelegramAdapter } from '../../src/adapters/telegram/index.ts';
import { FakeTelegram, type TgCall } from '../helpers/fake-telegram/server.ts';
import { quietLogger } from '../helpers/sim.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const TOKEN = '123456789:AAtestTOKENtestTOKENtestTOKENtest00';
const GROUP = { id: -1001234567890, type: 'supergroup' as const, title: 'ops' };

let fake: FakeTelegram;
let stack: TestStack;

const text = (c: TgCall) => String(c.body['text'] ?? '');
const repliesTo = (c: TgCall, id: number) => (c.body['reply_parameters'] as { message_id?: number } | undefined)?.message_id === id;

/** The message that answered user message `id`, followed through its edits until it matches `done`. */
async function finalText(id: number, done: RegExp): Promise<string> {
  const sent = await fake.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, id));
  const last = await fake.waitFor(
    (c) => (c === sent || (c.method === 'editMessageText' && c.messageId === sent.messageId)) && done.test(text(c)),
  );
  return text(last);
}
function say(from: number, message: string, options: { anonymousAdmin?: boolean } = {}): number {
  return fake.sendText(from, GROUP, message, options);
}

beforeAll(async () => {
  fake = new FakeTelegram(TOKEN);
  await fake.start();
  stack = await startTestStack({
    env: { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: fake.apiRoot },
    makeAdapters: (config) => [new TelegramAdapter({ config, logger: quietLogger, minIntervalMs: 0, groupPerMinute: 1000 })],
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await fake?.stop();
});

describe('Telegram adapter through the real telegraf client and a fake Bot API', () => {
  it('registered the commands at start-up', async () => {
    const call = await fake.waitFor((c) => c.method === 'setMyCommands');
    const names = (call.body['commands'] as { command: string }[]).map((c) => c.command);
    expect(names).toEqual(expect.arrayContaining(['list', 'start', 'stop', 'console', 'migrate', 'status', 'help']));
  });

  it('answers /list from 1001 in a group with the demo fleet, as HTML in <pre>', async () => {
    const id = say(1001, '/list@xenops_bot');
    const final = await finalText(id, /Domains on 2 hosts/);
    expect(final).toContain('<pre>');
    expect(final).toMatch(/xen1\s+mail\s+-\s+defined \(not running\)/);
    expect(final).toMatch(/xen2\s+files/);
  });

  it('ignores a command addressed to another bot', async () => {
    say(1001, '/list@some_other_bot');
    const id = say(1001, '/whoami');
    const final = await finalText(id, /You are alice/);
    expect(final).toContain('alice');
    expect(fake.calls.filter((c) => c.method === 'sendMessage' && repliesTo(c, id - 1))).toHaveLength(0);
  });

  it('starts mail for bob (1002) and edits the same message to the result', async () => {
    const id = say(1002, '/start mail');
    const final = await finalText(id, /mail started on xen1/);
    expect(final).toContain('read back from the host');
  });

  it('refuses /stop from carol (1003), naming the permission, and stops nothing', async () => {
    const id = say(1003, '/stop web');
    const final = await finalText(id, /Not allowed/);
    expect(final).toContain('needs permission domain.stop');
    expect(stack.sim.hosts['xen1']?.commandLog.some((c) => c.includes('shutdown'))).toBe(false);
  });

  it('refuses an anonymous group admin with a clear message', async () => {
    const id = say(0, '/list', { anonymousAdmin: true });
    expect(await finalText(id, /Not allowed/)).toContain('anonymous group admins cannot use xenops');
  });

  it('waits out a 429 retry_after and delivers, dropping nothing', async () => {
    fake.rateLimitNext('sendMessage', 1, 1);
    const id = say(1001, '/status');
    const final = await finalText(id, /Fleet status/);
    expect(final).toMatch(/xen1\s+up/);
    const attempts = fake.calls.filter((c) => c.method === 'sendMessage' && repliesTo(c, id));
    expect(attempts).toHaveLength(2);
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('sends an oversized console snapshot as a document', async () => {
    const lines = Array.from(
      { length: 3000 },
      (_, i) => `[${String(i).padStart(5)}] kernel: a console line long enough to matter <${i}> & more`,
    );
    stack.sim.fleet.host('xen1').files.set('/var/log/xen/console/guest-web.log', `${lines.join('\n')}\n`);
    const id = say(1001, '/console web 2000');
    const final = await finalText(id, /Console of web/);
    expect(final).toContain('&lt;2999&gt; &amp; more');
    const doc = await fake.waitFor((c) => c.method === 'sendDocument' && c.files['document']?.name === 'web-console.txt');
    const body = doc.files['document']?.data.toString('utf8') ?? '';
    expect(body.trimEnd().split('\n')).toHaveLength(2000);
    expect(body).toContain('<2999> & more');
  });
});
