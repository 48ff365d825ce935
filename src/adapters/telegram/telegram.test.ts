import { describe, expect, it } from 'vitest';
import { reply } from '../../core/reply.ts';
import { ChatOutbound } from './outbound.ts';
import { escapeHtml, photoCaption, renderTelegram, TELEGRAM_TEXT_LIMIT, visibleLength } from './render.ts';
import { messageToRequest, type TgMessage } from './to-request.ts';

describe('renderTelegram', () => {
  it('escapes &, < and > everywhere, tables and code inside <pre>', () => {
    const r = renderTelegram(
      reply.result('a <b> & c', [reply.text('x < y & z > w'), reply.table({ columns: ['n'], rows: [['<web>']] }), reply.code('if a && b')]),
    );
    expect(r.html).toBe('✅ <b>a &lt;b&gt; &amp; c</b>\nx &lt; y &amp; z &gt; w\n<pre>n\n&lt;web&gt;</pre>\n<pre>if a &amp;&amp; b</pre>');
    expect(escapeHtml('"quotes" stay')).toBe('"quotes" stay');
  });

  it('sends what does not fit in 4096 characters as a .txt document instead of cutting it', () => {
    const long = Array.from({ length: 400 }, (_, i) => `line ${i} ${'x'.repeat(20)}`).join('\n');
    const r = renderTelegram(reply.result('Console of web', [reply.code(long)]));
    expect(visibleLength(r.html)).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(r.documents[0]?.name).toBe('Console-of-web.txt');
    expect(r.documents[0]?.data.toString()).toContain('line 399');
  });

  it('sends PNG and JPEG attachments as photos captioned with their description, the rest as documents', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47]);
    const r = renderTelegram(
      reply.result('charts', [reply.text('web ▃▄▅')], {
        attachments: [
          { name: 'xen1-cpu.png', contentType: 'image/png', data: png, description: '  xen1, last hour  ' },
          { name: 'photo.jpg', contentType: 'image/jpeg', data: png },
          { name: 'anim.gif', contentType: 'image/gif', data: png },
          { name: 'info.txt', contentType: 'text/plain', data: 'x' },
        ],
      }),
    );
    expect(r.photos.map((p) => [p.name, p.caption])).toEqual([
      ['xen1-cpu.png', 'xen1, last hour'],
      ['photo.jpg', undefined],
    ]);
    expect([...(r.photos[0]?.data ?? [])]).toEqual([...png]);
    expect(r.documents.map((d) => d.name)).toEqual(['anim.gif', 'info.txt']);
  });

  it('cuts a caption to 1024 characters without splitting a surrogate pair', () => {
    expect(photoCaption('short')).toBe('short');
    expect(photoCaption('   ')).toBeUndefined();
    expect(photoCaption(undefined)).toBeUndefined();
    expect(photoCaption('x'.repeat(1024))).toHaveLength(1024);
    const long = photoCaption('y'.repeat(1022) + '😀'.repeat(10)) ?? '';
    expect(long).toBe(`${'y'.repeat(1022)}…`);
    expect(photoCaption('z'.repeat(2000))).toBe(`${'z'.repeat(1023)}…`);
  });

  it('counts length after entity parsing', () => {
    expect(visibleLength('<b>a&amp;b</b>')).toBe(3);
  });
});

describe('messageToRequest', () => {
  const base: TgMessage = {
    message_id: 7,
    date: 1_700_000_000,
    chat: { id: -100, type: 'supergroup', title: 'ops' },
    from: { id: 1001, is_bot: false, first_name: 'A' },
  };
  const msg = (text: string, extra: Partial<TgMessage> = {}): TgMessage => ({
    ...base,
    text,
    entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]?.length ?? 0 }],
    ...extra,
  });

  it('reads /cmd@thisbot with arguments, stable id from chat and message', () => {
    expect(messageToRequest(msg('/stop@Xenops_Bot web --force'), 'xenops_bot')).toMatchObject({
      id: 'tg-100_7',
      command: 'stop',
      args: { kind: 'text', text: 'web --force' },
      actor: { userId: '1001' },
      channel: { id: '-100', kind: 'group' },
    });
  });

  it('ignores commands for other bots and plain text', () => {
    expect(messageToRequest(msg('/list@otherbot'), 'xenops_bot')).toBeNull();
    expect(messageToRequest({ ...base, text: 'hello' }, 'xenops_bot')).toBeNull();
  });

  it('marks an anonymous group admin (the message comes from the group itself)', () => {
    const r = messageToRequest(msg('/list', { sender_chat: { id: -100, type: 'supergroup' } }), 'xenops_bot');
    expect(r?.actor).toMatchObject({ anonymousAdmin: true, userId: '-100' });
  });
});

describe('ChatOutbound', () => {
  const rateLimited = Object.assign(new Error('429'), { retryAfter: 2 });
  const retryDelayMs = (e: unknown) => (e === rateLimited ? 2000 : null);

  it('retries a 429 after retry_after seconds and keeps the order', async () => {
    const slept: number[] = [];
    const out = new ChatOutbound({ minIntervalMs: 0, retryDelayMs, sleep: async (ms) => void slept.push(ms) });
    const log: string[] = [];
    let failed = false;
    const a = out.send('c', async () => {
      log.push('a');
      if (!failed) {
        failed = true;
        throw rateLimited;
      }
      return 'A';
    });
    const b = out.send('c', async () => {
      log.push('b');
      return 'B';
    });
    expect(await Promise.all([a, b])).toEqual(['A', 'B']);
    expect(log).toEqual(['a', 'a', 'b']);
    expect(slept).toEqual([2000]);
  });

  it('coalesces waiting edits of one message into the newest, and never drops an unkeyed send', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const out = new ChatOutbound({ minIntervalMs: 0, retryDelayMs });
    const ran: string[] = [];
    const first = out.send('c', async () => {
      await gate;
      ran.push('send');
    });
    const e1 = out.send('c', async () => void ran.push('edit1'), { coalesceKey: 'm1', edit: true });
    const e2 = out.send('c', async () => void ran.push('edit2'), { coalesceKey: 'm1', edit: true });
    const final = out.send('c', async () => void ran.push('final'));
    release();
    await Promise.all([first, e1, e2, final]);
    expect(ran).toEqual(['send', 'edit2', 'final']);
  });

  it('paces sends to one chat by minIntervalMs', async () => {
    const slept: number[] = [];
    const out = new ChatOutbound({ minIntervalMs: 1000, retryDelayMs, sleep: async (ms) => void slept.push(ms) });
    await out.send('c', async () => 1);
    await out.send('c', async () => 2);
    expect(slept.length).toBe(1);
    expect(slept[0]).toBeGreaterThan(900);
  });

  it('holds a group to its per-minute cap', async () => {
    const slept: number[] = [];
    const out = new ChatOutbound({
      minIntervalMs: 0,
      retryDelayMs,
      perMinute: (id) => (id.startsWith('-') ? 2 : null),
      sleep: async (ms) => void slept.push(ms),
    });
    for (let i = 0; i < 3; i++) await out.send('-100', async () => i);
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThan(59_000);
    for (let i = 0; i < 3; i++) await out.send('555', async () => i);
    expect(slept).toHaveLength(1);
  });
});
