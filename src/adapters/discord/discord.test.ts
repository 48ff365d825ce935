import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../commands/index.ts';
import { commandSpecs } from '../../core/define-command.ts';
import { reply } from '../../core/reply.ts';
import { commandsDiffer, toDiscordCommands } from './register.ts';
import { discordFileName, LIMITS, renderDiscord } from './render.ts';
import { autocompletePartial, chatInputToRequest } from './to-request.ts';

describe('renderDiscord', () => {
  it('puts tables and code in the description and fields in embed fields', () => {
    const p = renderDiscord(
      reply.result('t', [reply.table({ columns: ['a'], rows: [['1']] }), reply.fields([{ name: 'k', value: 'v', inline: true }])]),
    );
    expect(p.embeds[0]).toMatchObject({ title: 't', description: '```\na\n1\n```', fields: [{ name: 'k', value: 'v', inline: true }] });
    expect(p.files).toEqual([]);
  });

  it('keeps every embed limit and moves overflowing text to an attachment, never cutting it', () => {
    const long = Array.from({ length: 600 }, (_, i) => `line ${i} ${'y'.repeat(10)}`).join('\n');
    const p = renderDiscord(
      reply.result('x'.repeat(300), [
        reply.code(long),
        reply.fields(Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, value: 'z'.repeat(2000) }))),
      ]),
    );
    const e = p.embeds[0];
    expect(e?.title.length).toBeLessThanOrEqual(LIMITS.title);
    expect((e?.description ?? '').length).toBeLessThanOrEqual(LIMITS.description);
    expect((e?.fields ?? []).length).toBeLessThanOrEqual(LIMITS.fields);
    expect((e?.fields ?? []).every((f) => f.value.length <= LIMITS.fieldValue)).toBe(true);
    const total =
      (e?.title.length ?? 0) + (e?.description?.length ?? 0) + (e?.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(LIMITS.total);
    expect(p.files[0]?.data.toString()).toContain('line 599');
    // Every field is in the file, the 26th to the 30th too.
    expect(p.files[0]?.data.toString()).toContain('f29');
  });

  it('shows more than 25 fields once, in the description, not 25 of them twice', () => {
    const p = renderDiscord(
      reply.result('guests', [reply.fields(Array.from({ length: 27 }, (_, i) => ({ name: `g${i}`, value: 'running' })))]),
    );
    const e = p.embeds[0];
    expect(e?.fields).toBeUndefined();
    expect(e?.description?.match(/g\d+/g)).toHaveLength(27);
  });

  it('moves fields that alone pass the 6,000 total into the file with the rest, instead of a message Discord refuses', () => {
    const p = renderDiscord(
      reply.result('t', [reply.fields(Array.from({ length: 10 }, (_, i) => ({ name: `f${i}`, value: 'v'.repeat(900) })))]),
    );
    const e = p.embeds[0];
    const total =
      (e?.title.length ?? 0) + (e?.description?.length ?? 0) + (e?.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(LIMITS.total);
    expect(p.files[0]?.data.toString()).toContain('f9');
  });

  it('shows the first image attachment as the embed image and sends every attachment as a file', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47]);
    const p = renderDiscord(
      reply.result('charts', [reply.text('web ▃▄▅')], {
        attachments: [
          { name: 'notes.txt', contentType: 'text/plain', data: 'n' },
          { name: 'xen1 cpu.png', contentType: 'image/png', data: png, description: 'xen1 chart' },
          { name: 'xen2.png', contentType: 'image/png', data: png },
        ],
      }),
    );
    expect(p.embeds[0]?.image).toEqual({ url: 'attachment://xen1_cpu.png' });
    expect(p.files.map((f) => [f.name, f.contentType, f.description])).toEqual([
      ['notes.txt', 'text/plain', undefined],
      ['xen1_cpu.png', 'image/png', 'xen1 chart'],
      ['xen2.png', 'image/png', undefined],
    ]);
    expect([...(p.files[1]?.data ?? [])]).toEqual([...png]);
    expect(renderDiscord(reply.result('plain')).embeds[0]?.image).toBeUndefined();
  });

  it('names files as Discord keeps them, so attachment:// finds them', () => {
    expect(discordFileName('xen1-cpu.png')).toBe('xen1-cpu.png');
    expect(discordFileName('a b/ü.png')).toBe('a_b__.png');
    expect(discordFileName('.hidden.png')).toBe('_hidden.png');
  });

  it('says which files past the 10th are left out, and moves the text to a file rather than cut it for the note', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47]);
    const attachments = Array.from({ length: 12 }, (_, i) => ({ name: `xen${i}.png`, contentType: 'image/png', data: png }));
    // 4049 characters: within 4096 alone, not with the note before them.
    const lines = Array.from({ length: 90 }, (_, i) => `line ${String(i).padStart(3, '0')} ${'y'.repeat(35)}`);
    const p = renderDiscord(reply.result('charts', [reply.text(lines.join('\n'))], { attachments }));
    const description = p.embeds[0]?.description ?? '';
    expect(p.files).toHaveLength(10);
    expect(description.length).toBeLessThanOrEqual(LIMITS.description);
    expect(description).toMatch(/^3 more attachments not sent \(Discord takes 10 per message\): xen9\.png, xen10\.png, xen11\.png\n/);
    expect(p.files[0]?.data.toString()).toContain('line 089');
  });

  it('mentions as many people as fit in the 2000 characters of the content, then says how many more', () => {
    const ids = Array.from({ length: 120 }, (_, i) => String(200000000000000100n + BigInt(i)));
    const p = renderDiscord({
      ...reply.result('t'),
      mentions: ids.map((id) => ({ person: id, identities: [{ platform: 'discord' as const, userId: id }] })),
    });
    expect(p.content.length).toBeLessThanOrEqual(2000);
    const shown = [...p.content.matchAll(/<@(\d+)>/g)].map((m) => m[1]);
    expect(p.allowedMentions.users).toEqual(shown);
    expect(p.content).toMatch(new RegExp(` and ${ids.length - shown.length} more$`));
    expect(p.mentions).toEqual(ids);
  });

  it('turns actions into buttons with opaque custom ids', () => {
    const p = renderDiscord({ ...reply.result('t'), actions: [{ id: 'a1', label: 'Approve', style: 'success' }] });
    expect(p.components).toEqual([{ type: 1, components: [{ type: 2, style: 3, label: 'Approve', custom_id: 'a1' }] }]);
  });
});

describe('slash command registration', () => {
  const wanted = toDiscordCommands(commandSpecs(COMMANDS));

  it('derives option types from the zod schemas and hides dangerous commands from members', () => {
    const consoleCmd = wanted.find((c) => c.name === 'console');
    expect(consoleCmd?.options).toEqual([
      { type: 3, name: 'domain', description: 'domain name, or host:domain', required: true, autocomplete: true },
      { type: 4, name: 'lines', description: 'how many lines (1-2000)', required: false, min_value: 1, max_value: 2000 },
    ]);
    expect(wanted.find((c) => c.name === 'list')?.default_member_permissions).toBeNull();
    // stop is routine for operators; only its --force form is dangerous, and the bot checks that itself
    expect(wanted.find((c) => c.name === 'stop')?.default_member_permissions).toBeNull();
    expect(wanted.find((c) => c.name === 'migrate')?.default_member_permissions).toBe('32');
  });

  it('registers only when something changed', () => {
    const registered = wanted.map((c) => ({ ...c, id: '1', version: '2' }));
    expect(commandsDiffer(wanted, registered)).toBe(false);
    expect(commandsDiffer(wanted, registered.slice(1))).toBe(true);
    expect(commandsDiffer(wanted, [{ ...registered[0], description: 'old' }, ...registered.slice(1)])).toBe(true);
  });
});

describe('chatInputToRequest', () => {
  it('maps options to structured args and the member roles to the actor', () => {
    expect(
      chatInputToRequest({
        id: '9',
        guildId: 'g',
        channelId: 'c',
        userId: 'u',
        username: 'n',
        roleIds: ['r'],
        commandName: 'stop',
        options: [
          { name: 'domain', value: 'web' },
          { name: 'force', value: true },
        ],
        receivedAt: 1,
      }),
    ).toMatchObject({
      id: 'dc9',
      platform: 'discord',
      actor: { userId: 'u', roleIds: ['r'] },
      channel: { id: 'c', kind: 'group' },
      args: { kind: 'options', options: { domain: 'web', force: true } },
    });
  });

  // Found by test/fuzz: an option whose name is not a string (`{"toString":false}` in a malformed payload) threw
  // while the request was being made, so the interaction was never answered.
  it('leaves out an option whose name is not a string, instead of throwing', () => {
    const raw = {
      id: '9',
      guildId: null,
      channelId: 'c',
      userId: 'u',
      username: 'n',
      roleIds: [],
      commandName: 'stop',
      options: [
        { name: JSON.parse('{"toString":false}') as string, value: 'x' },
        { name: 7 as unknown as string, value: 'y' },
        { name: 'domain', value: 'web' },
      ],
      receivedAt: 1,
    };
    expect(chatInputToRequest(raw).args).toEqual({ kind: 'options', options: { domain: 'web' } });
  });
});

describe('autocompletePartial', () => {
  // Found by test/fuzz: the adapter called String() on the focused value, so an autocomplete interaction whose value was
  // {"toString":false} threw ("Cannot convert object to primitive value") and was never answered.
  it('reads what was typed from a string or a number, and anything else as nothing typed', () => {
    expect(autocompletePartial('we')).toBe('we');
    expect(autocompletePartial(12)).toBe('12');
    expect(autocompletePartial(JSON.parse('{"toString":false}'))).toBe('');
    expect(autocompletePartial(null)).toBe('');
    expect(autocompletePartial(['web'])).toBe('');
  });
});
