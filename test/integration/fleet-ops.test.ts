import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { XenToolstack } from '../../src/agent/toolstack/driver.ts';
import type { JobResult } from '../../src/queue/jobs.ts';
import { renderDomainConfig } from '../../src/sim/model.ts';
import { type SimEnv, startSimEnv } from '../helpers/sim.ts';
import { type AgentRig, meta, startRig } from './agent-support.ts';

/**
 * Autostart, reboot, pause/unpause and uptime through the real agent (journal, lock, fleet-wide checks), the real
 * SSH pool and the simulator. Each test asserts what the hosts received.
 */
let env: SimEnv;
let rig: AgentRig;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [
            { name: 'web', memoryMiB: 2048, vcpus: 2, running: true },
            { name: 'mail', memoryMiB: 1024, vcpus: 2, running: false },
            { name: 'gateway', memoryMiB: 512, vcpus: 1, running: true, autostart: true },
            // db is defined on both hosts, and starts with xen2.
            { name: 'db', memoryMiB: 1024, vcpus: 1, running: false },
          ],
        },
        xen2: {
          toolstack: 'xl',
          domains: [
            { name: 'files', memoryMiB: 4096, vcpus: 2, running: true },
            { name: 'db', memoryMiB: 1024, vcpus: 1, running: false, autostart: true },
          ],
        },
        old: { toolstack: 'xm', domains: [{ name: 'legacy', memoryMiB: 512, vcpus: 1, running: true }] },
      },
    },
  });
  // ghost runs on xen1 without any config file (started from elsewhere, its file since removed).
  const xen1 = env.sim.fleet.host('xen1');
  env.sim.fleet.addDomain(xen1, { name: 'ghost', memoryMiB: 256, vcpus: 1, flags: '-b----' });
  rig = await startRig(env, { hosts: { old: { toolstack: 'xm' } } });
  await rig.startAgent();
}, 30_000);
afterAll(async () => {
  await rig?.stop();
  await env?.stop();
});
afterEach(() => {
  env.sim.faults.clear();
});

const sent = (host: string, since: number, re: RegExp = /./) => env.sim.log.query({ host, since, match: re }).map((e) => e.command);
const changes = /^(ln|unlink|rm) |^xl (create|destroy|reboot|pause|unpause|shutdown)|^xm /;
const links = (host: string) => env.sim.state().hosts[host]?.links ?? [];

async function run<Op extends Parameters<AgentRig['enqueue']>[0]['op']>(data: Parameters<AgentRig['enqueue']>[0] & { op: Op }) {
  const job = await rig.enqueue(data);
  const outcome = await rig.outcome(job);
  return { job, outcome, result: outcome.ok ? (outcome.result as JobResult<Op>) : null };
}

describe('/autostart', () => {
  it('on: links /etc/xen/auto/mail.cfg to the config file, reads it back, journals it; the sim and the list show it', async () => {
    const since = env.sim.log.lastSeq;
    const m = meta({ command: 'autostart' });
    const { job, outcome } = await run({ op: 'domain.autostart', host: 'xen1', domain: 'mail', enable: true, meta: m });
    expect(outcome).toEqual({
      ok: true,
      result: { host: 'xen1', outcome: 'enabled', domain: 'mail', path: '/etc/xen/auto/mail.cfg', target: '/etc/xen/vm/mail.cfg' },
    });
    expect(sent('xen1', since, /^(ln|unlink|readlink|test) /)).toEqual([
      'ln -s /etc/xen/vm/mail.cfg /etc/xen/auto/mail.cfg',
      'readlink /etc/xen/auto/mail.cfg',
      'test -e /etc/xen/auto/mail.cfg',
    ]);
    // The fleet-wide check read the other hosts' autostart entries, in the same round trip as their lists.
    expect(sent('xen2', since, /^ls -l/)).toEqual(['ls -l /etc/xen/auto/']);
    expect(sent('old', since, /^ls -l/)).toEqual(['ls -l /etc/xen/auto/']);
    expect(await rig.journal.get(job.id ?? '')).toMatchObject({ step: 'done', before: { status: 'defined' }, domain: 'mail' });
    expect(links('xen1')).toContainEqual({ path: '/etc/xen/auto/mail.cfg', target: '/etc/xen/vm/mail.cfg' });
    const list = await run({ op: 'domain.list', host: 'xen1', meta: meta({ command: 'list' }) });
    const byName = new Map(list.result?.domains.map((d) => [d.name, d.autostart]));
    expect(byName.get('mail')).toEqual({ path: '/etc/xen/auto/mail.cfg', target: '/etc/xen/vm/mail.cfg' });
    expect(byName.get('gateway')).toEqual({ path: '/etc/xen/auto/gateway.cfg', target: '/etc/xen/vm/gateway.cfg' });
    expect(byName.get('web')).toBeNull();
    // The link is no second config and no second defined domain.
    expect(list.result?.domains.filter((d) => d.name === 'mail')).toHaveLength(1);
    expect(list.result?.notes).toBeUndefined();
  });

  it('on when already on says so and changes nothing (no ln, no journal entry)', async () => {
    const since = env.sim.log.lastSeq;
    const { job, result } = await run({ op: 'domain.autostart', host: 'xen1', domain: 'mail', enable: true, meta: meta() });
    expect(result).toMatchObject({ outcome: 'already-enabled', target: '/etc/xen/vm/mail.cfg' });
    expect(sent('xen1', since, changes)).toEqual([]);
    expect(await rig.journal.get(job.id ?? '')).toBeNull();
  });

  it('off: unlinks the link (never the config), reads back that nothing is there; off again sends nothing', async () => {
    const since = env.sim.log.lastSeq;
    const off = await run({ op: 'domain.autostart', host: 'xen1', domain: 'mail', enable: false, meta: meta() });
    expect(off.result).toMatchObject({ outcome: 'disabled', path: '/etc/xen/auto/mail.cfg', target: null });
    expect(sent('xen1', since, changes)).toEqual(['unlink /etc/xen/auto/mail.cfg']);
    expect(links('xen1').map((l) => l.path)).not.toContain('/etc/xen/auto/mail.cfg');
    expect(env.sim.state().hosts['xen1']?.configs).toContain('/etc/xen/vm/mail.cfg');
    const again = await run({ op: 'domain.autostart', host: 'xen1', domain: 'mail', enable: false, meta: meta() });
    expect(again.result).toMatchObject({ outcome: 'already-disabled' });
    expect(sent('xen1', since, changes)).toEqual(['unlink /etc/xen/auto/mail.cfg']);
  });

  it('is refused, with the reason, for a domain with no config file on the host', async () => {
    const since = env.sim.log.lastSeq;
    const { outcome } = await run({ op: 'domain.autostart', host: 'xen1', domain: 'ghost', enable: true, meta: meta() });
    expect(outcome).toEqual({
      ok: false,
      failure: {
        code: 'domain.notFound',
        message: 'ghost has no config file on xen1 (looked for ghost.cfg in /etc/xen/vm): autostart links to one, so nothing was changed',
      },
    });
    expect(sent('xen1', since, changes)).toEqual([]);
  });

  it('is refused when another host already autostarts it (it would boot twice): nothing changes on either host', async () => {
    const since = env.sim.log.lastSeq;
    const before = { xen1: links('xen1'), xen2: links('xen2') };
    const { job, outcome } = await run({ op: 'domain.autostart', host: 'xen1', domain: 'db', enable: true, meta: meta() });
    expect(outcome).toEqual({
      ok: false,
      failure: {
        code: 'domain.elsewhere',
        message:
          'db already starts with xen2 (/etc/xen/auto/db.cfg there) — autostarting it on xen1 too would boot it twice after a power cut; turn it off on xen2 first',
      },
    });
    expect([...sent('xen1', since, changes), ...sent('xen2', since, changes)]).toEqual([]);
    expect({ xen1: links('xen1'), xen2: links('xen2') }).toEqual(before);
    expect(await rig.journal.get(job.id ?? '')).toBeNull();
  });

  it('is refused when another host cannot be read (twice): a partition is exactly when it would go unnoticed', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.dropNext('old', { match: /^xm list$/ });
    env.sim.faults.dropNext('old', { match: /^xm list$/ });
    const { outcome } = await run({ op: 'domain.autostart', host: 'xen1', domain: 'web', enable: true, meta: meta() });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.failure).toMatchObject({
      code: 'domain.elsewhere',
      message: 'cannot confirm web does not already start with old (unreachable): not turning autostart on',
    });
    expect(sent('xen1', since, changes)).toEqual([]);
  });

  it('holds the domain lock: refused at once, told who holds it, nothing sent', async () => {
    const since = env.sim.log.lastSeq;
    await rig.locks.acquire(
      { requestId: 'other', person: 'bob', command: 'stop', host: 'xen1', domain: 'web', reason: 'stop on xen1', since: Date.now() },
      30_000,
    );
    try {
      const { outcome } = await run({ op: 'domain.autostart', host: 'xen1', domain: 'web', enable: true, meta: meta() });
      expect(!outcome.ok && outcome.failure.code).toBe('locked');
      expect(sent('xen1', since)).toEqual([]);
    } finally {
      await rig.locks.release('web', 'other');
    }
  });
});

describe('/autostart off never removes what xenops did not make', () => {
  it('refuses a config file living in /etc/xen/auto, a link of another name, and a link that is the only way to the config', async () => {
    const xen2 = env.sim.fleet.host('xen2');
    xen2.files.set('/etc/xen/auto/solo.cfg', renderDomainConfig({ name: 'solo', memoryMiB: 256, vcpus: 1 }));
    xen2.links.set('/etc/xen/auto/01-files.cfg', '../vm/files.cfg');
    xen2.files.set('/etc/xen/dns.cfg', renderDomainConfig({ name: 'dns', memoryMiB: 256, vcpus: 1 }));
    xen2.links.set('/etc/xen/auto/dns.cfg', '../dns.cfg');
    try {
      const since = env.sim.log.lastSeq;
      const off = async (domain: string) => {
        const { outcome } = await run({ op: 'domain.autostart', host: 'xen2', domain, enable: false, meta: meta() });
        return outcome.ok ? null : outcome.failure;
      };
      expect(await off('solo')).toEqual({
        code: 'rejected',
        message:
          "/etc/xen/auto/solo.cfg on xen2 is solo's config file itself, not a link: xenops never removes a config file — move it to /etc/xen/vm and link it, or remove it by hand",
      });
      expect(await off('files')).toEqual({
        code: 'rejected',
        message:
          'files starts with xen2 through /etc/xen/auto/01-files.cfg, which xenops did not make (it only removes /etc/xen/auto/files.cfg): nothing was changed',
      });
      expect(await off('dns')).toEqual({
        code: 'rejected',
        message:
          "dns's config /etc/xen/dns.cfg on xen2 is outside the config dirs (/etc/xen/vm): without the link xenops would lose track of it — add its directory to hosts.xen2.configDirs first; nothing was changed",
      });
      expect(sent('xen2', since, changes)).toEqual([]);
      // The list knows them all, each once, from its entry: solo and dns are defined through /etc/xen/auto.
      const list = await run({ op: 'domain.list', host: 'xen2', meta: meta({ command: 'list' }) });
      const mine = list.result?.domains
        .filter((d) => ['solo', 'files', 'dns'].includes(d.name))
        .map((d) => [d.name, d.configPath, d.autostart?.path]);
      expect(mine).toEqual([
        ['files', '/etc/xen/vm/files.cfg', '/etc/xen/auto/01-files.cfg'],
        ['solo', '/etc/xen/auto/solo.cfg', '/etc/xen/auto/solo.cfg'],
        ['dns', '/etc/xen/dns.cfg', '/etc/xen/auto/dns.cfg'],
      ]);
    } finally {
      xen2.files.delete('/etc/xen/auto/solo.cfg');
      xen2.links.delete('/etc/xen/auto/01-files.cfg');
      xen2.files.delete('/etc/xen/dns.cfg');
      xen2.links.delete('/etc/xen/auto/dns.cfg');
    }
  });
});

describe('/reboot', () => {
  it('graceful: xl reboot once; read back with a new domid', async () => {
    const oldId = env.sim.fleet.findDomain(env.sim.fleet.host('xen1'), 'web')?.id;
    const since = env.sim.log.lastSeq;
    const { job, result } = await run({
      op: 'domain.reboot',
      host: 'xen1',
      domain: 'web',
      force: false,
      meta: meta({ command: 'reboot' }),
    });
    expect(result).toMatchObject({ host: 'xen1', outcome: 'rebooted', previousId: oldId, evidence: 'new-id', domain: { name: 'web' } });
    expect(result?.domain?.id).not.toBe(oldId);
    expect(result?.domain?.id).toBe(env.sim.fleet.findDomain(env.sim.fleet.host('xen1'), 'web')?.id);
    expect(sent('xen1', since, changes)).toEqual(['xl reboot web']);
    expect(await rig.journal.get(job.id ?? '')).toMatchObject({ step: 'done', before: { id: oldId } });
  });

  it('--force: xl destroy, then xl create from its config file, exactly once each; says so; new domid', async () => {
    const oldId = env.sim.fleet.findDomain(env.sim.fleet.host('xen1'), 'gateway')?.id;
    const since = env.sim.log.lastSeq;
    const { result } = await run({ op: 'domain.reboot', host: 'xen1', domain: 'gateway', force: true, meta: meta() });
    expect(result).toMatchObject({ outcome: 'recreated', previousId: oldId, configPath: '/etc/xen/vm/gateway.cfg' });
    expect(result?.domain?.id).not.toBe(oldId);
    expect(sent('xen1', since, changes)).toEqual(['xl destroy gateway', 'xl create /etc/xen/vm/gateway.cfg']);
  });

  it('--force without a config file is refused before anything is destroyed', async () => {
    const since = env.sim.log.lastSeq;
    const { outcome } = await run({ op: 'domain.reboot', host: 'xen1', domain: 'ghost', force: true, meta: meta() });
    expect(!outcome.ok && outcome.failure).toMatchObject({ code: 'domain.notFound' });
    expect(!outcome.ok && outcome.failure.message).toContain('a forced reboot would destroy it and could not create it again');
    expect(sent('xen1', since, changes)).toEqual([]);
  });

  it('a domain that is not running: nothing to reboot, nothing sent', async () => {
    const since = env.sim.log.lastSeq;
    const { result } = await run({ op: 'domain.reboot', host: 'xen1', domain: 'mail', force: false, meta: meta() });
    expect(result).toMatchObject({ outcome: 'not-running', previousId: null });
    expect(sent('xen1', since, changes)).toEqual([]);
  });

  it('an xm host: xm reboot, read back with a new domid', async () => {
    const oldId = env.sim.fleet.findDomain(env.sim.fleet.host('old'), 'legacy')?.id;
    const since = env.sim.log.lastSeq;
    const { result } = await run({ op: 'domain.reboot', host: 'old', domain: 'legacy', force: false, meta: meta() });
    expect(result).toMatchObject({ outcome: 'rebooted', previousId: oldId, evidence: 'new-id' });
    expect(result?.domain?.id).not.toBe(oldId);
    expect(sent('old', since, /^xm (reboot|create|destroy)/)).toEqual(['xm reboot legacy']);
  });
});

describe('/pause and /unpause', () => {
  it('pause reads the paused flag back; pausing a paused domain says so and sends nothing', async () => {
    const since = env.sim.log.lastSeq;
    const first = await run({ op: 'domain.pause', host: 'xen1', domain: 'web', meta: meta() });
    expect(first.result).toMatchObject({ outcome: 'paused', domain: { name: 'web', status: 'paused', flags: '-bp---' } });
    const second = await run({ op: 'domain.pause', host: 'xen1', domain: 'web', meta: meta() });
    expect(second.result).toMatchObject({ outcome: 'already-paused' });
    expect(sent('xen1', since, changes)).toEqual(['xl pause web']);
    // One pause held, so one unpause runs it again.
    expect(env.sim.fleet.findDomain(env.sim.fleet.host('xen1'), 'web')?.pauseCount).toBe(1);
  });

  it('a graceful reboot of a paused domain is refused (it cannot act on it), nothing sent', async () => {
    const since = env.sim.log.lastSeq;
    const { outcome } = await run({ op: 'domain.reboot', host: 'xen1', domain: 'web', force: false, meta: meta() });
    expect(!outcome.ok && outcome.failure.code).toBe('rejected');
    expect(!outcome.ok && outcome.failure.message).toMatch(/^web is paused on xen1: a paused guest cannot act on a reboot request/);
    expect(sent('xen1', since, changes)).toEqual([]);
  });

  it('unpause reads it back running; unpausing a running domain says so and sends nothing', async () => {
    const since = env.sim.log.lastSeq;
    const first = await run({ op: 'domain.unpause', host: 'xen1', domain: 'web', meta: meta() });
    expect(first.result).toMatchObject({ outcome: 'unpaused', domain: { status: 'blocked', flags: '-b----' } });
    const second = await run({ op: 'domain.unpause', host: 'xen1', domain: 'web', meta: meta() });
    expect(second.result).toMatchObject({ outcome: 'not-paused' });
    expect(sent('xen1', since, changes)).toEqual(['xl unpause web']);
  });

  it('on an xm host: xm pause and xm unpause, read back', async () => {
    const since = env.sim.log.lastSeq;
    expect((await run({ op: 'domain.pause', host: 'old', domain: 'legacy', meta: meta() })).result).toMatchObject({
      outcome: 'paused',
      domain: { status: 'paused' },
    });
    expect((await run({ op: 'domain.unpause', host: 'old', domain: 'legacy', meta: meta() })).result).toMatchObject({
      outcome: 'unpaused',
    });
    expect(sent('old', since, /^xm (pause|unpause)/)).toEqual(['xm pause legacy', 'xm unpause legacy']);
  });
});

describe('/uptime', () => {
  it('reads xl uptime into rows (name, domid, seconds) with nothing left unread', async () => {
    const { result } = await run({ op: 'host.uptime', host: 'xen2', meta: meta({ command: 'uptime' }) });
    expect(result?.toolstack).toBe('xl');
    expect(result?.unparsed).toEqual([]);
    expect(result?.rows.map((r) => r.name)).toEqual(['Domain-0', 'files']);
    expect(result?.rows.every((r) => Number.isInteger(r.uptimeSeconds) && r.uptimeSeconds >= 0)).toBe(true);
  });
});

describe('resumed jobs only read back (never send again)', () => {
  const driver = (host: string) =>
    new XenToolstack(
      'xl',
      env.pool(),
      { name: host, configDirs: ['/etc/xen/vm', '/etc/xen/auto'], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 },
      {
        readBack: { attempts: 10, delayMs: 30 },
        pollMs: 30,
        resumeWaitMs: 3000,
      },
    );

  it('verifyReboot: a reboot sent before the agent died is read back by its new domid, and not sent again', async () => {
    const xen2 = env.sim.fleet.host('xen2');
    const oldId = env.sim.fleet.findDomain(xen2, 'files')?.id ?? null;
    const pool = env.pool();
    const issuedAt = Date.now();
    await pool.run('xen2', ['xl', 'reboot', 'files']);
    const since = env.sim.log.lastSeq;
    const r = await driver('xen2').verifyReboot('files', { force: false, issuedAt, previousId: oldId });
    expect(r).toMatchObject({ outcome: 'rebooted', resumed: true, previousId: oldId });
    expect(r.domain?.id).not.toBe(oldId);
    expect(sent('xen2', since, changes)).toEqual([]);
  });

  it('verifyAutostart / verifyPause: read the state back and report it as resumed; an unmet state is an unknown outcome', async () => {
    const since = env.sim.log.lastSeq;
    expect(await driver('xen2').verifyAutostart('db', true)).toMatchObject({
      outcome: 'enabled',
      resumed: true,
      target: '/etc/xen/vm/db.cfg',
    });
    await expect(driver('xen2').verifyAutostart('files', true)).rejects.toMatchObject({ name: 'OutcomeUnknownError' });
    expect(await driver('xen2').verifyPause('files', false)).toMatchObject({ outcome: 'unpaused', resumed: true });
    expect(sent('xen2', since, changes)).toEqual([]);
  });
});
