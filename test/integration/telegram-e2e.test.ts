import { describe, expect, it } from 'vitest';
import { renderHostChart } from '../../src/app/charts.ts';
import type { Reply } from '../../src/core/reply.ts';
import { repliesTo, textOf as text, useTelegramStack } from '../helpers/fake-telegram/stack.ts';
import { PNG_HEAD } from '../helpers/recorder.ts';

const TOKEN = '123456789:AAtestTOKENtestTOKENtestTOKENtest00';
const GROUP = { id: -1001234567890, type: 'supergroup' as const, title: 'ops' };

const tg = useTelegramStack(TOKEN);
const { fake } = tg;

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
    expect(tg.stack.sim.hosts['xen1']?.commandLog.some((c) => c.includes('shutdown'))).toBe(false);
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
    tg.stack.sim.fleet.host('xen1').files.set('/var/log/xen/console/guest-web.log', `${lines.join('\n')}\n`);
    const id = say(1001, '/console web 2000');
    const final = await finalText(id, /Console of web/);
    expect(final).toContain('&lt;2999&gt; &amp; more');
    const doc = await fake.waitFor((c) => c.method === 'sendDocument' && c.files['document']?.name === 'web-console.txt');
    const body = doc.files['document']?.data.toString('utf8') ?? '';
    expect(body.trimEnd().split('\n')).toHaveLength(2000);
    expect(body).toContain('<2999> & more');
  });
});

describe('image attachments (charts)', () => {
  const chat = String(GROUP.id);
  const chart = (title: string, attachments: Reply['attachments']): Reply => ({
    kind: 'result',
    tone: 'info',
    title,
    blocks: [{ type: 'text', text: 'web  ▃▄▅  cpu 25.0% now / 40.0% peak, mem 2048 MiB' }],
    ...(attachments ? { attachments } : {}),
  });

  it('pins a posted message quietly through pinChatMessage', async () => {
    const adapter = tg.adapter;
    const target = await adapter.post(chat, chart('pinned board', undefined));
    await adapter.pin(target);
    const call = await fake.waitFor((c) => c.method === 'pinChatMessage');
    expect(call.body).toMatchObject({ message_id: target.state['messageId'], disable_notification: true });
    expect(fake.pins.has(`${chat}:${String(target.state['messageId'])}`)).toBe(true);
  });

  it('sends a PNG with sendPhoto (multipart), captioned with its description, after the text', async () => {
    const png = await renderHostChart('xen1', [], { width: 320, height: 200 });
    const adapter = tg.adapter;
    await adapter.post(
      chat,
      chart('xen1 last hour', [
        { name: 'xen1-cpu.png', contentType: 'image/png', data: png, description: 'xen1: CPU % and memory, last hour' },
        { name: 'xen1-history.csv', contentType: 'text/csv', data: 'at,cpu\n1,2\n' },
      ]),
    );
    const text = await fake.waitFor((c) => c.method === 'sendMessage' && String(c.body['text']).includes('xen1 last hour'));
    const photo = await fake.waitFor((c) => c.method === 'sendPhoto' && c.files['photo']?.name === 'xen1-cpu.png');
    expect(photo.files['photo']?.head.startsWith(PNG_HEAD)).toBe(true);
    expect(photo.files['photo']?.size).toBe(png.byteLength);
    expect(photo.body['chat_id']).toBe(chat);
    expect(photo.body['caption']).toBe('xen1: CPU % and memory, last hour');
    expect(photo.at).toBeGreaterThanOrEqual(text.at);
    // Anything else stays a document.
    const doc = await fake.waitFor((c) => c.method === 'sendDocument' && c.files['document']?.name === 'xen1-history.csv');
    expect(doc.files['document']?.data.toString()).toBe('at,cpu\n1,2\n');
    expect(fake.calls.some((c) => c.method === 'sendDocument' && c.files['document']?.name === 'xen1-cpu.png')).toBe(false);
  }, 30_000);

  it('cuts a caption to 1024 characters', async () => {
    const png = await renderHostChart('xen2', [], { width: 200, height: 120 });
    const adapter = tg.adapter;
    await adapter.post(
      chat,
      chart('long caption', [{ name: 'xen2-cpu.png', contentType: 'image/png', data: png, description: 'x'.repeat(3000) }]),
    );
    const photo = await fake.waitFor((c) => c.method === 'sendPhoto' && c.files['photo']?.name === 'xen2-cpu.png');
    const caption = String(photo.body['caption']);
    expect(caption).toHaveLength(1024);
    expect(caption.endsWith('…')).toBe(true);
  }, 30_000);

  it('an image Telegram refuses as a photo still arrives, as a document', async () => {
    const adapter = tg.adapter;
    const bogus = new TextEncoder().encode('not really a png');
    await adapter.post(chat, chart('bogus image', [{ name: 'bogus.png', contentType: 'image/png', data: bogus }]));
    await fake.waitFor((c) => c.method === 'sendPhoto' && c.files['photo']?.name === 'bogus.png');
    const doc = await fake.waitFor((c) => c.method === 'sendDocument' && c.files['document']?.name === 'bogus.png');
    expect(doc.files['document']?.data.toString()).toBe('not really a png');
  });
});
