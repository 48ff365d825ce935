import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { renderDomainConfig } from '../../src/sim/model.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * /autostart, /reboot, /pause, /unpause and /uptime end to end: the bot (pipeline, locks, prechecks, rendering), the
 * agent and the simulated demo fleet (gateway starts with xen1). Approvals are off here: their defaults for these
 * commands are asserted in src/core/approval-policy.test.ts.
 */
let stack: TestStack;
let adapter: CaptureAdapter;
let n = 0;

beforeAll(async () => {
  stack = await startTestStack({
    makeAdapters: () => {
      adapter = new CaptureAdapter('terminal');
      return [adapter];
    },
    adjustConfig: (c) => ({ ...c, approvals: { ...c.approvals, enabled: false }, sampling: { ...c.sampling, enabled: false } }),
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function ask(line: string, user = 'alice'): Promise<Reply> {
  const req = chatRequest(`fo-${++n}-${Math.random().toString(36).slice(2, 6)}`, line, user);
  await stack.bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

const body = (r: Reply) => r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : 'text' in b ? b.text : '')).join('\n');
const log = (host: string, re: RegExp) => (stack.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c));

describe('autostart through the bot', () => {
  it('/list and /status mark the domain that starts with its host', async () => {
    const list = await ask('list xen1');
    expect(body(list)).toMatch(/^xen1\s+gateway\s+\d+\s+blocked\s+512 MiB\s+1\s+↻$/m);
    expect(body(list)).toMatch(/^xen1\s+mail\s+-\s+defined \(not running\)\s+-\s+-$/m);
    expect(body(list)).toContain('↻ = starts with its host (/etc/xen/auto)');
    const status = await ask('status');
    // gateway and web run (Domain-0, the host, is not counted); mail is stopped; gateway starts with xen1.
    expect(body(status)).toMatch(/^xen1\s+up \(xl 4\.17\.3\)\s+2 running, 1 defined \(not running\), ↻ 1\s/m);
  });

  it('/autostart shows it; on links and reads back (the sim shows the link); on again changes nothing', async () => {
    expect((await ask('autostart gateway')).title).toBe('↻ gateway starts with xen1');
    const on = await ask('autostart mail on');
    expect([on.title, body(on)]).toEqual(['↻ mail now starts with xen1', '/etc/xen/auto/mail.cfg → /etc/xen/vm/mail.cfg (read back)']);
    expect(stack.sim.state().hosts['xen1']?.links).toContainEqual({ path: '/etc/xen/auto/mail.cfg', target: '/etc/xen/vm/mail.cfg' });
    const again = await ask('autostart mail on');
    expect(again.title).toBe('mail already starts with xen1');
    expect(log('xen1', /^ln /)).toEqual(['ln -s /etc/xen/vm/mail.cfg /etc/xen/auto/mail.cfg']);
    expect(body(await ask('list xen1'))).toMatch(/^xen1\s+mail\s+-\s+defined \(not running\)\s+-\s+-\s+↻$/m);
  });

  it('refuses to autostart a domain on a second host before queueing anything, naming the first', async () => {
    // mail gets a config file on xen2 as well (a copy, as after a migration).
    stack.sim.fleet.host('xen2').files.set('/etc/xen/vm/mail.cfg', renderDomainConfig({ name: 'mail', memoryMiB: 1024, vcpus: 2 }));
    await ask('list xen2');
    const r = await ask('autostart xen2:mail on');
    expect([r.title, body(r)]).toEqual([
      'Cannot do that',
      'mail already starts with xen1 — autostarting it on xen2 too would boot it twice after a power cut; turn it off on xen1 first',
    ]);
    expect(log('xen2', /^(ln|unlink) /)).toEqual([]);
    expect(stack.sim.state().hosts['xen2']?.links).toEqual([]);
  });

  it('off unlinks it; a viewer may not change it', async () => {
    const carol = await ask('autostart xen1:mail off', 'carol');
    expect(carol.title).toBe('Not allowed');
    expect(body(carol)).toContain('domain.autostart');
    // mail has a config on xen2 too now (test above): the bare name is ambiguous, so the host is named.
    const off = await ask('autostart xen1:mail off');
    expect(off.title).toBe('mail no longer starts with xen1');
    expect(log('xen1', /^unlink /)).toEqual(['unlink /etc/xen/auto/mail.cfg']);
    expect(stack.sim.state().hosts['xen1']?.links.map((l) => l.path)).toEqual(['/etc/xen/auto/gateway.cfg']);
  });
});

describe('reboot, pause, unpause and uptime through the bot', () => {
  it('/reboot web: graceful, a new domid read back; /reboot gateway --force: destroyed and created again, once each', async () => {
    const xen1 = stack.sim.fleet.host('xen1');
    const webId = stack.sim.fleet.findDomain(xen1, 'web')?.id;
    const graceful = await ask('reboot web');
    expect(graceful.title).toBe('web rebooted on xen1');
    expect(body(graceful)).toMatch(
      new RegExp(`^graceful \\(the guest rebooted itself\\): id ${webId} → \\d+, (running|blocked) \\(read back\\)$`),
    );
    expect(stack.sim.fleet.findDomain(xen1, 'web')?.id).not.toBe(webId);
    expect(log('xen1', /^xl reboot/)).toEqual(['xl reboot web']);
    const forced = await ask('reboot gateway --force');
    expect(forced.title).toBe('gateway destroyed and created again on xen1');
    expect(body(forced)).toMatch(/^forced: destroyed, then created from \/etc\/xen\/vm\/gateway\.cfg — id \d+ → \d+, /);
    expect(log('xen1', /^xl (destroy|create) .*gateway/)).toEqual(['xl destroy gateway', 'xl create /etc/xen/vm/gateway.cfg']);
  });

  it('/pause, /pause again (refused from the view, nothing queued), /unpause: the paused flag read back each time', async () => {
    expect((await ask('pause web')).title).toBe('web paused on xen1');
    const again = await ask('pause web');
    expect([again.title, body(again)]).toEqual(['Cannot do that', 'web is already paused on xen1: nothing to pause; nothing was queued']);
    expect(body(await ask('list xen1'))).toMatch(/^xen1\s+web\s+\d+\s+paused\s/m);
    const un = await ask('unpause web');
    expect([un.title, body(un)]).toEqual(['web unpaused on xen1', 'now blocked (-b----) (read back)']);
    expect(log('xen1', /^xl (un)?pause/)).toEqual(['xl pause web', 'xl unpause web']);
  });

  it('/uptime xen1 renders a row per running domain (anyone with read may ask)', async () => {
    const r = await ask('uptime xen1', 'carol');
    expect(r.title).toBe('Uptime on xen1');
    expect(body(r)).toMatch(/^host\s+domain\s+id\s+uptime$/m);
    expect(body(r)).toMatch(/^xen1\s+Domain-0\s+0\s+\d+s$/m);
    expect(body(r)).toMatch(/^xen1\s+web\s+\d+\s+\d+s$/m);
  });
});

// Last: web leaves xen1 for good.
/**
 * After web moved from xen1 to xen2, its autostart link stays on xen1. `/autostart web on` knew (refused: it would boot
 * twice), while `/autostart web` said only "web does not start with xen2 — nothing for it in /etc/xen/auto": the read
 * must say what `on` knows — web still starts with xen1, where it no longer runs, and boots there too after xen1's next
 * boot.
 */
describe('/autostart web after web moved from xen1 to xen2', () => {
  it('says web still starts with xen1, where it no longer runs — as /autostart web on refuses for', async () => {
    expect((await ask('autostart web on')).title).toBe('↻ web now starts with xen1');
    const moved = await ask('migrate web xen2');
    expect(moved.title).toMatch(/web.*xen2/);
    expect(stack.sim.state().hosts['xen1']?.links).toContainEqual({ path: '/etc/xen/auto/web.cfg', target: '/etc/xen/vm/web.cfg' });
    await ask('list');

    const on = await ask('autostart web on');
    expect(body(on)).toContain('web already starts with xen1');

    const read = await ask('autostart web');
    const said = `${read.title}\n${body(read)}`;
    expect(said).toContain('web still starts with xen1, where it no longer runs: it boots there too after xen1 boots again');
    expect(said).toContain('web does not start with xen2');
    expect(read.tone).toBe('warning');
    // What xen2 said is still shown.
    expect(said).toContain('nothing for it in /etc/xen/auto');
  });
});
