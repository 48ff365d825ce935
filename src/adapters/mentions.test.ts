import { describe, expect, it } from 'vitest';
import { type Reply, reply } from '../core/reply.ts';
import { renderDiscord } from './discord/render.ts';
import { renderTelegram } from './telegram/render.ts';
import { renderForTerminal } from './terminal/render.ts';

/** One reply mentioning people; each platform mentions them its own way and ignores the other platforms' ids. */
const card: Reply = {
  ...reply.result('Approval needed: /stop xen1:web — K7Q2XM', [reply.text('/approve K7Q2XM')], { tone: 'warning' }),
  mentions: [
    {
      person: 'bob',
      identities: [
        { platform: 'terminal', userId: 'bob' },
        { platform: 'telegram', userId: '1002' },
        { platform: 'discord', userId: '200000000000000002' },
      ],
    },
    // No Discord identity; a Telegram "id" that is not one, and a name that needs escaping.
    {
      person: 'o<b>rien',
      identities: [
        { platform: 'terminal', userId: 'obrien' },
        { platform: 'telegram', userId: '12; DROP' },
      ],
    },
    { person: 'bob', identities: [{ platform: 'discord', userId: '200000000000000002' }] },
  ],
};

describe('mentions', () => {
  it('Discord: <@id> in the content (embeds never notify), only those users allowed, once each', () => {
    const p = renderDiscord(card);
    expect(p.content).toBe('🔔 <@200000000000000002>');
    expect(p.allowedMentions).toEqual({ parse: [], users: ['200000000000000002'] });
    expect(JSON.stringify(p.embeds)).not.toContain('<@');
    const plain = renderDiscord(reply.result('done'));
    expect(plain.content).toBe('');
    expect(plain.allowedMentions).toEqual({ parse: [], users: [] });
  });

  it('Telegram: a tg://user text mention under the title, names escaped, bad ids dropped', () => {
    const m = renderTelegram(card);
    expect(m.html.split('\n').slice(0, 2)).toEqual([
      '⚠️ <b>Approval needed: /stop xen1:web — K7Q2XM</b>',
      '🔔 <a href="tg://user?id=1002">bob</a>',
    ]);
    expect(m.mentions).toEqual([{ name: 'bob', userId: '1002' }]);
    expect(renderTelegram(reply.result('done')).mentions).toEqual([]);
  });

  it('Telegram: a mention survives when the text overflows into a document', () => {
    const long = { ...card, blocks: [reply.code('x'.repeat(5000))] };
    expect(renderTelegram(long).html).toContain('<a href="tg://user?id=1002">bob</a>');
  });

  it('terminal: @name for each terminal identity, under the title', () => {
    expect(renderForTerminal(card).split('\n').slice(0, 2)).toEqual(['⚠ Approval needed: /stop xen1:web — K7Q2XM', '🔔 @bob @obrien']);
    expect(renderForTerminal(reply.result('done'))).toBe('✔ done\n');
  });
});
