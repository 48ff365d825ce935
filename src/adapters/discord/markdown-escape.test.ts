import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { show } from '../../../commands/show.ts';
import { FakeDiscord } from '../../../test/helpers/fake-discord/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { Config } from '../../config/schema.ts';
import { type HostOutcome, renderContext } from '../../core/define-command.ts';
import type { DomainDetail } from '../../core/domain-detail.ts';
import { type Reply, reply } from '../../core/reply.ts';
import { DiscordAdapter } from './index.ts';
import { LIMITS, renderDiscord } from './render.ts';

/** What Discord shows for escaped text: its escape rule drops a backslash before anything but a letter, digit or space. */
const discordShows = (md: string) => md.replace(/\\([^0-9A-Za-z\s])/g, '$1');

/**
 * Whether Discord markdown could act on `md`: an discordShowsd formatting character (bold, italic, underline, strike,
 * spoiler, code, mention/timestamp, link, quote) or a line that starts a heading, subtext or list.
 */
function formats(md: string): boolean {
  const bare = md.replace(/\\[^0-9A-Za-z\s]/g, '');
  return /[*_~|`<>[\]]/.test(bare) || /^[ \t]*(#{1,3} |-# |[-+*] |\d+\. |>)/m.test(md);
}

/** A note as an agent might quote it: every kind of Discord markdown, and a backslash of its own. */
const NOTE = [
  '# not a heading',
  '-# not subtext',
  '- not a list',
  '  + nor this',
  '1. nor this',
  '> not a quote',
  '**bold** *it* _it_ __under__ ~~strike~~ ||spoiler|| `code` [link](https://example.com) <@200000000000000001> <t:0:R> C:\\xen\\_cfg',
].join('\n');

describe('Discord markdown escaping', () => {
  it('shows a domain named db__old__2 in the title and the config-file field as it is (/show)', () => {
    const name = 'db__old__2';
    const d = {
      name,
      summary: {
        name,
        uuid: null,
        id: null,
        status: 'defined',
        flags: '',
        memoryMiB: null,
        vcpus: null,
        cpuSeconds: null,
        configPath: `/etc/xen/vm/${name}.cfg`,
        autostart: null,
      },
      source: null,
      uuid: null,
      type: null,
      memoryMiB: null,
      maxMemoryMiB: null,
      vcpus: null,
      maxVcpus: null,
      cpus: null,
      cpusSoft: null,
      vcpuList: null,
      disks: [],
      nics: [],
      liveDevices: { nics: false, disks: false },
      uptimeSeconds: null,
      configFileRead: null,
      unavailable: [],
      notes: [],
    } satisfies DomainDetail;
    const o: HostOutcome<'domain.show'> = { host: 'xen1', ok: true, result: { host: 'xen1', toolstack: 'xl', ...d } };
    const embed = renderDiscord(show.render([o], { domain: { domain: name } }, renderContext())).embeds[0];
    const field = embed?.fields?.find((f) => f.name === 'config file');
    expect(field?.value).toBe('/etc/xen/vm/db\\_\\_old\\_\\_2.cfg');
    expect(discordShows(field?.value ?? '')).toBe(`/etc/xen/vm/${name}.cfg`);
    expect(embed?.title).toBe('db\\_\\_old\\_\\_2 on xen1 (not running)');
    expect(discordShows(embed?.title ?? '')).toBe(`${name} on xen1 (not running)`);
  });

  it('escapes the title, field names and values, text blocks and table captions; code blocks stay verbatim', () => {
    const code = '__x__ *y* \\z `w`';
    const p = renderDiscord(
      reply.result('# a__b__c *d* <e> [f](g) ~~h~~ ||i|| `j` \\', [
        reply.text(NOTE),
        reply.fields([{ name: '__k__', value: NOTE }]),
        reply.table({ columns: ['a'], rows: [['__1__']] }, '~~caption~~'),
        reply.code(code),
      ]),
    );
    const e = p.embeds[0];
    const field = e?.fields?.[0];
    for (const [md, text] of [
      [e?.title, '# a__b__c *d* <e> [f](g) ~~h~~ ||i|| `j` \\'],
      [field?.name, '__k__'],
      [field?.value, NOTE],
    ] as const) {
      expect(formats(md ?? '')).toBe(false);
      expect(discordShows(md ?? '')).toBe(text);
    }
    const description = e?.description ?? '';
    const at = description.indexOf('\n\\~\\~caption');
    const text = description.slice(0, at);
    expect(formats(text)).toBe(false);
    expect(discordShows(text)).toBe(NOTE);
    // Inside a code block Discord shows backslashes as they are: escaping there would add characters.
    expect(description.slice(at + 1)).toBe(`\\~\\~caption\\~\\~\n\`\`\`\na\n__1__\n\`\`\`\n\`\`\`\n${code}\n\`\`\``);
    expect(p.allowedMentions).toEqual({ parse: [], users: [] });
  });

  it('escapes the data only, not the bold of its own, when fields go in the description (more than 25)', () => {
    const fields = Array.from({ length: 26 }, (_, i) => ({ name: `n_${i}_`, value: `*v${i}*` }));
    const description = renderDiscord(reply.result('t', [reply.fields(fields)])).embeds[0]?.description ?? '';
    expect(description.split('\n')[0]).toBe('**n\\_0\\_**: \\*v0\\*');
    expect(discordShows(description.replace(/\*\*(.*?)\*\*/g, '$1'))).toBe(fields.map((f) => `${f.name}: ${f.value}`).join('\n'));
  });

  it('cuts a long value after escaping, within the limits, never leaving a dangling backslash', () => {
    for (const value of ['_'.repeat(2000), `a${'_'.repeat(2000)}`]) {
      const e = renderDiscord(reply.result('*'.repeat(300), [reply.fields([{ name: 'v', value }])])).embeds[0];
      for (const [md, limit, original] of [
        [e?.title ?? '', LIMITS.title, '*'.repeat(300)],
        [e?.fields?.[0]?.value ?? '', LIMITS.fieldValue, value],
      ] as const) {
        expect(md.length).toBeLessThanOrEqual(limit);
        expect(md.endsWith('…')).toBe(true);
        const kept = md.slice(0, -1);
        expect(kept).toMatch(/(^|[^\\])(\\\\)*$/);
        expect(formats(kept)).toBe(false);
        expect(original.startsWith(discordShows(kept))).toBe(true);
        expect(discordShows(kept).length).toBeGreaterThan(limit / 2 - 2);
      }
    }
  });

  it('escapes the names in the note on attachments left out (file names keep underscores)', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47]);
    const attachments = Array.from({ length: 12 }, (_, i) => ({ name: `xen__${i}__.png`, contentType: 'image/png', data: png }));
    const description = renderDiscord(reply.result('charts', [], { attachments })).embeds[0]?.description ?? '';
    expect(description).toBe('2 more attachments not sent (Discord takes 10 per message): xen\\_\\_10\\_\\_.png, xen\\_\\_11\\_\\_.png');
  });
});

describe('Discord markdown escaping in the mention ping', () => {
  const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.markdown.test';
  const BOB = '200000000000000002';
  let fake: FakeDiscord;
  beforeAll(async () => {
    fake = new FakeDiscord(TOKEN);
    await fake.start();
  });
  afterAll(async () => {
    await fake?.stop();
  });

  it('the ping after an edit carries the title escaped', async () => {
    const config = Config.parse({
      hosts: { xen1: { address: 'a', privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true } },
      roles: { admin: { allow: ['*'] } },
      people: { bob: { roles: ['admin'], identities: { discord: BOB } } },
      channels: [{ platform: 'discord', id: '*' }],
      discord: { token: TOKEN, apiRoot: fake.apiRoot },
    });
    const adapter = new DiscordAdapter({ config, logger: quietLogger });
    const target = await adapter.post(fake.channelId, reply.result('working'));
    const card: Reply = {
      ...reply.result('Approval needed: /stop xen1:db__old__2', [], { tone: 'warning' }),
      mentions: [{ person: 'bob', identities: [{ platform: 'discord', userId: BOB }] }],
    };
    // An edit notifies nobody: the adapter follows it with a message of its own that pings.
    await adapter.deliver(target, card);
    const ping = await fake.waitFor(
      (c) => c.method === 'POST' && c.route === `/channels/${fake.channelId}/messages` && String(c.body?.['content']).startsWith('🔔'),
    );
    expect(ping.body?.['content']).toBe(`🔔 <@${BOB}> Approval needed: /stop xen1:db\\_\\_old\\_\\_2`);
    expect(ping.body?.['allowed_mentions']).toEqual({ parse: [], users: [BOB] });
  });
});
