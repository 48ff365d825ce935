import { describe, expect, it } from 'vitest';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import type { Reply } from '../src/core/reply.ts';
import type { DomainSummary } from '../src/core/xen.ts';
import { autostart } from './autostart.ts';
import { list } from './list.ts';
import { migrate } from './migrate.ts';
import { pause } from './pause.ts';
import { reboot } from './reboot.ts';
import { status } from './status.ts';
import { unpause } from './unpause.ts';
import { formatUptime, uptime } from './uptime.ts';

const text = (r: Reply) =>
  r.blocks.map((b) => (b.type === 'table' ? b.table.rows.map((row) => row.join(' | ')).join('\n') : 'text' in b ? b.text : '')).join('\n');

const dom = (name: string, over: Partial<DomainSummary> = {}): DomainSummary => ({
  name,
  uuid: null,
  id: 3,
  status: 'blocked',
  flags: '-b----',
  memoryMiB: 1024,
  vcpus: 1,
  cpuSeconds: 1,
  configPath: `/etc/xen/vm/${name}.cfg`,
  autostart: null,
  ...over,
});
const MAIL_LINK = { path: '/etc/xen/auto/mail.cfg', target: '/etc/xen/vm/mail.cfg' };
const ref = (domain: string) => ({ domain });
const ctx = renderContext();

describe('/list and /status mark autostart domains', () => {
  it('list: ↻ in the auto column, a legend under the table, and what the agent could not read', () => {
    const r = list.render(
      [
        {
          host: 'xen1',
          ok: true,
          result: {
            host: 'xen1',
            toolstack: 'xl',
            domains: [dom('mail', { autostart: MAIL_LINK }), dom('web')],
            notes: ['/etc/xen/auto/old.cfg points to /etc/xen/vm/old.cfg, which does not exist: it would fail when the host boots'],
          },
        },
      ],
      {},
      ctx,
    );
    expect(r.blocks[0]).toMatchObject({
      type: 'table',
      table: {
        columns: ['host', 'domain', 'id', 'state', 'memory', 'vcpus', 'auto'],
        rows: [
          ['xen1', 'mail', '3', 'blocked', '1 GiB', '1', '↻'],
          ['xen1', 'web', '3', 'blocked', '1 GiB', '1', ''],
        ],
      },
    });
    expect(r.blocks.slice(1)).toEqual([
      { type: 'text', text: '↻ = starts with its host (/etc/xen/auto)' },
      {
        type: 'text',
        text: '⚠ xen1: /etc/xen/auto/old.cfg points to /etc/xen/vm/old.cfg, which does not exist: it would fail when the host boots',
      },
    ]);
  });

  it('status: the host row counts autostart domains and names those not running; busiest domains carry ↻', () => {
    const o: HostOutcome<'host.status'> = {
      host: 'xen1',
      ok: true,
      agent: { where: '1@a', seenAgoMs: 0, alive: true },
      frozen: null,
      result: {
        host: 'xen1',
        reachable: true,
        toolstack: 'xl',
        domainsByStatus: { blocked: 1, defined: 1 },
        totalMemoryMiB: 4096,
        freeMemoryMiB: 1024,
        xenVersion: '4.17.3',
        domains: [
          { name: 'web', uuid: null, status: 'blocked', memoryMiB: 1024, autostart: true },
          { name: 'mail', uuid: null, status: 'defined', memoryMiB: null, autostart: true },
        ],
        busiest: [{ name: 'web', cpuPercent: 12, memoryKiB: 1024 * 1024 }],
        sampledAt: ctx.now,
      },
    };
    const t = text(status.render([o], {}, ctx));
    expect(t).toContain('xen1 | up (xl 4.17.3) | 1 running, 1 defined (not running), ↻ 2 (1 not running: mail) |');
    expect(t).toContain('web ↻ | xen1 | 12.0');
  });
});

describe('/autostart', () => {
  const show = (domains: DomainSummary[], notes?: string[]) =>
    autostart.render(
      [{ host: 'xen1', ok: true, result: { host: 'xen1', toolstack: 'xl', domains, ...(notes ? { notes } : {}) } }],
      { domain: ref('mail') },
      ctx,
    );
  const set = (result: Record<string, unknown>, state: 'on' | 'off' = 'on') =>
    autostart.render(
      [{ host: 'xen1', ok: true, result: { host: 'xen1', domain: 'mail', ...result } as never }],
      { domain: ref('mail'), state },
      ctx,
    );

  it('shows the link and the config, or that there is none, or that it cannot tell', () => {
    const on = show([dom('mail', { autostart: MAIL_LINK })]);
    expect([on.title, text(on)]).toEqual([
      '↻ mail starts with xen1',
      '/etc/xen/auto/mail.cfg → /etc/xen/vm/mail.cfg\nconfig file: /etc/xen/vm/mail.cfg',
    ]);
    expect(show([dom('mail')]).title).toBe('mail does not start with xen1');
    const unknown = show([dom('mail', { autostart: undefined as never })], ['could not read /etc/xen/auto (Permission denied)']);
    expect([unknown.title, unknown.tone, text(unknown)]).toEqual([
      'Cannot tell whether mail starts with xen1',
      'warning',
      '⚠ xen1: could not read /etc/xen/auto (Permission denied)',
    ]);
    expect(show([dom('web')]).title).toBe('No domain mail on xen1');
  });

  it('says what changed, what was already so, and why it was refused', () => {
    const enabled = set({ outcome: 'enabled', path: MAIL_LINK.path, target: MAIL_LINK.target });
    expect([enabled.title, text(enabled)]).toEqual([
      '↻ mail now starts with xen1',
      '/etc/xen/auto/mail.cfg → /etc/xen/vm/mail.cfg (read back)',
    ]);
    const already = set({ outcome: 'already-enabled', path: MAIL_LINK.path, target: MAIL_LINK.target });
    expect([already.title, already.tone, text(already)]).toEqual([
      'mail already starts with xen1',
      'info',
      '/etc/xen/auto/mail.cfg → /etc/xen/vm/mail.cfg; nothing was changed',
    ]);
    expect(set({ outcome: 'disabled', path: MAIL_LINK.path, target: null }, 'off').title).toBe('mail no longer starts with xen1');
    expect(set({ outcome: 'already-disabled', path: MAIL_LINK.path, target: null }, 'off').title).toBe('mail does not start with xen1');
    const resumed = set({ outcome: 'disabled', path: MAIL_LINK.path, target: null, resumed: true }, 'off');
    expect(text(resumed)).toBe('interrupted mid-way (an agent or Redis restart) and resumed; read back: /etc/xen/auto/mail.cfg is gone');
    const refused = autostart.render(
      [{ host: 'xen1', ok: false, failure: { code: 'domain.elsewhere', message: 'mail already starts with xen2 …' } }],
      { domain: ref('mail'), state: 'on' },
      ctx,
    );
    expect([refused.title, refused.tone, text(refused)]).toEqual([
      'Could not change the autostart of mail',
      'error',
      '⚠ xen1: refused — mail already starts with xen2 …',
    ]);
  });

  it('is a read without on/off (no lock, no approval) and a write with it', () => {
    expect(autostart.job({ domain: ref('mail') }, { host: 'xen1', domain: 'mail' })).toEqual({ op: 'domain.list', host: 'xen1' });
    expect(autostart.job({ domain: ref('mail'), state: 'off' }, { host: 'xen1', domain: 'mail' })).toEqual({
      op: 'domain.autostart',
      host: 'xen1',
      domain: 'mail',
      enable: false,
    });
    const risk = autostart.risk as (a: { state?: 'on' | 'off' }) => string;
    expect([risk({}), risk({ state: 'on' })]).toEqual(['read', 'write']);
  });
});

describe('/reboot', () => {
  const render = (result: Record<string, unknown>, force = false) =>
    reboot.render([{ host: 'xen1', ok: true, result: { host: 'xen1', ...result } as never }], { domain: ref('web'), force }, ctx);

  it('says which happened: the guest rebooted itself, or it was destroyed and created again; and what showed it', () => {
    const graceful = render({ outcome: 'rebooted', previousId: 3, evidence: 'new-id', domain: dom('web', { id: 9 }) });
    expect([graceful.title, text(graceful)]).toEqual([
      'web rebooted on xen1',
      'graceful (the guest rebooted itself): id 3 → 9, blocked (read back)',
    ]);
    const inPlace = render({ outcome: 'rebooted', previousId: 3, evidence: 'uptime', uptimeSeconds: 4, domain: dom('web', { id: 3 }) });
    expect(text(inPlace)).toBe('graceful (the guest rebooted itself): same id 3, up 4 s since the reboot (read back)');
    const forced = render(
      { outcome: 'recreated', previousId: 3, evidence: 'new-id', configPath: '/etc/xen/vm/web.cfg', domain: dom('web', { id: 10 }) },
      true,
    );
    expect([forced.title, text(forced)]).toEqual([
      'web destroyed and created again on xen1',
      'forced: destroyed, then created from /etc/xen/vm/web.cfg — id 3 → 10, blocked (read back)',
    ]);
    const resumed = render(
      { outcome: 'recreated', previousId: 3, evidence: 'new-id', domain: dom('web', { id: 10 }), resumed: true },
      true,
    );
    expect(text(resumed)).toBe('forced: interrupted mid-way (an agent or Redis restart) and resumed; state read back: id 3 → 10, blocked');
  });

  it('not running: nothing rebooted, says how to start it; a failure names the host and why', () => {
    const idle = render({ outcome: 'not-running', previousId: null, domain: dom('web', { id: null, status: 'defined' }) });
    expect([idle.title, idle.tone, text(idle)]).toEqual([
      'web is not running on xen1',
      'info',
      'nothing was rebooted — /start web starts it',
    ]);
    const failed = reboot.render(
      [{ host: 'xen1', ok: false, failure: { code: 'rejected', message: 'web is paused on xen1: …' } }],
      { domain: ref('web'), force: false },
      ctx,
    );
    expect([failed.title, text(failed)]).toEqual(['Could not reboot web', '⚠ xen1: refused — web is paused on xen1: …']);
    expect((reboot.risk as (a: { force: boolean }) => string)({ force: true })).toBe('dangerous');
  });
});

describe('/pause and /unpause', () => {
  const render = (cmd: typeof pause | typeof unpause, result: Record<string, unknown>) =>
    cmd.render([{ host: 'xen1', ok: true, result: { host: 'xen1', ...result } as never }], { domain: ref('web') }, ctx);

  it('says what was done (flags read back), and when nothing was sent', () => {
    const paused = render(pause, { outcome: 'paused', domain: dom('web', { status: 'paused', flags: '-bp---' }) });
    expect([paused.title, text(paused)]).toEqual(['web paused on xen1', 'now paused (-bp---) (read back)']);
    const already = render(pause, { outcome: 'already-paused', domain: dom('web', { status: 'paused', flags: '--p---' }) });
    expect([already.title, already.tone, text(already)]).toEqual([
      'web is already paused on xen1',
      'info',
      'paused (--p---); nothing was sent',
    ]);
    const unpaused = render(unpause, { outcome: 'unpaused', domain: dom('web') });
    expect([unpaused.title, text(unpaused)]).toEqual(['web unpaused on xen1', 'now blocked (-b----) (read back)']);
    expect(render(unpause, { outcome: 'not-paused', domain: dom('web') }).title).toBe('web is not paused on xen1');
    expect(render(pause, { outcome: 'not-running', domain: null }).title).toBe('web is not running on xen1');
    const failed = unpause.render(
      [{ host: 'xen1', ok: false, failure: { code: 'outcomeUnknown', message: 'lost …' } }],
      { domain: ref('web') },
      ctx,
    );
    expect([failed.title, failed.tone, text(failed)]).toEqual([
      'Unpause of web: outcome unknown',
      'error',
      '⚠ xen1: outcome unknown — lost …',
    ]);
  });
});

describe('/uptime', () => {
  it('a row per running domain, uptimes in days/hours/minutes; unread lines shown as printed, never guessed', () => {
    const r = uptime.render(
      [
        {
          host: 'xen1',
          ok: true,
          result: {
            host: 'xen1',
            toolstack: 'xl',
            rows: [
              { name: 'Domain-0', id: 0, uptimeSeconds: 98 * 86_400 + 2 * 3600 + 27 * 60 + 44 },
              { name: 'web', id: 7, uptimeSeconds: 2 * 3600 + 5 * 60 + 9 },
            ],
            unparsed: ['mail  9  up a while'],
          },
        },
        { host: 'xen2', ok: false, failure: { code: 'noAnswer', message: 'no answer within 15 s' } },
      ],
      {},
      ctx,
    );
    expect(r.title).toBe('Uptime on 2 hosts');
    expect(r.tone).toBe('warning');
    expect(r.blocks[0]).toMatchObject({
      table: {
        columns: ['host', 'domain', 'id', 'uptime'],
        rows: [
          ['xen1', 'Domain-0', '0', '98d 2h 27m'],
          ['xen1', 'web', '7', '2h 05m 09s'],
        ],
      },
    });
    expect(r.blocks.slice(1)).toEqual([
      { type: 'text', text: '⚠ xen1: could not read this line of xl uptime: mail  9  up a while' },
      { type: 'text', text: '⚠ xen2: no answer — no answer within 15 s' },
    ]);
    expect([formatUptime(45), formatUptime(61), formatUptime(86_400)]).toEqual(['45s', '1m 01s', '1d 0h 00m']);
  });
});

describe('/migrate and the autostart link it leaves behind', () => {
  const moved = (sourceAutostart: boolean): HostOutcome<'domain.migrate'> => ({
    host: 'xen1',
    agent: null,
    frozen: null,
    ok: true,
    result: {
      host: 'xen1',
      outcome: 'migrated',
      target: 'xen2',
      domain: dom('mail'),
      ...(sourceAutostart ? { sourceAutostart } : {}),
      transcript: [],
    },
  });

  it('GIVEN the source still autostarts the guest THEN the reply warns it would run twice, naming the fix', () => {
    const r = migrate.render([moved(true)], { domain: ref('mail'), target: 'xen2' } as never, renderContext());
    expect(text(r)).toContain(
      '⚠ mail still starts with xen1 (its /etc/xen/auto link stays there): before xen1 boots again, run /autostart xen1:mail off',
    );
  });

  it('GIVEN no autostart link on the source THEN no warning', () => {
    const r = migrate.render([moved(false)], { domain: ref('mail'), target: 'xen2' } as never, renderContext());
    expect(text(r)).not.toContain('still starts with');
    expect(text(r)).toContain('running on xen2 as id 3 (verified)');
  });
});
