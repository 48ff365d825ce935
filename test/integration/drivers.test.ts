import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeFailure } from '../../src/agent/agent.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import type { RemoteRunner, RunResult } from '../../src/agent/ssh/types.ts';
import { detectToolstack, XenToolstack } from '../../src/agent/toolstack/driver.ts';
import type { ProgressUpdate } from '../../src/agent/toolstack/types.ts';
import { OutcomeUnknownError, RemoteCommandError, TransportError, UserError } from '../../src/core/errors.ts';
import { DOM0_UUID, domainUuid } from '../../src/sim/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';

let env: SimEnv;
let pool: SshPool;
const driver = (host: string, kind: 'xl' | 'xm' = 'xl') =>
  new XenToolstack(
    kind,
    pool,
    { name: host, configDirs: ['/etc/xen/vm', '/etc/xen/auto'], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 },
    { readBack: { attempts: 30, delayMs: 20 } },
  );

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [
            { name: 'gateway', memoryMiB: 512, vcpus: 1, running: true },
            { name: 'web', memoryMiB: 2048, vcpus: 2, running: true },
            { name: 'mail', memoryMiB: 1024, vcpus: 2, running: false },
          ],
        },
        xen2: { toolstack: 'xl', domains: [{ name: 'files', memoryMiB: 4096, vcpus: 2, running: true }] },
        old: { toolstack: 'xm', domains: [{ name: 'legacy-db.example.com', memoryMiB: 1024, vcpus: 1, running: true }] },
      },
    },
  });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

const log = (host: string) => env.sim.hosts[host]?.commandLog ?? [];

describe('xl driver through the real SSH pool and the simulator', () => {
  it('lists running domains with their UUIDs (xl list -v) and defined-but-stopped configs without one', async () => {
    const domains = await driver('xen1').list();
    expect(domains.map((d) => [d.name, d.status, d.id, d.uuid])).toEqual([
      ['Domain-0', 'running', 0, '00000000-0000-0000-0000-000000000000'],
      ['gateway', 'blocked', 1, domainUuid('gateway')],
      ['web', 'blocked', 2, domainUuid('web')],
      ['mail', 'defined', null, null],
    ]);
    expect(domains.find((d) => d.name === 'mail')?.configPath).toBe('/etc/xen/vm/mail.cfg');
    expect(log('xen1').at(-4)).toBe('xl list -v');
  });

  it('starts a defined domain, reads it back, and answers "already running" the second time without creating', async () => {
    const progress: ProgressUpdate[] = [];
    const first = await driver('xen1').start('mail', { onProgress: (p) => progress.push(p) });
    expect(first.outcome).toBe('started');
    expect(first.domain).toMatchObject({ name: 'mail', status: 'blocked' });
    expect(progress.map((p) => p.stage)).toContain('create');
    expect(log('xen1')).toContain('xl create /etc/xen/vm/mail.cfg');
    const creates = log('xen1').filter((c) => c.includes('create')).length;
    const second = await driver('xen1').start('mail');
    expect(second.outcome).toBe('already-running');
    expect(log('xen1').filter((c) => c.includes('create')).length).toBe(creates);
  });

  it('refuses bad names before any SSH traffic', async () => {
    const before = log('xen1').length;
    for (const bad of ['web; reboot', '$(id)', '123', 'Domain-0', 'web--incoming']) {
      await expect(driver('xen1').start(bad)).rejects.toBeInstanceOf(UserError);
      await expect(driver('xen1').stop(bad, { force: true })).rejects.toBeInstanceOf(UserError);
    }
    expect(log('xen1').length).toBe(before);
  });

  it('stops gracefully (bounded shutdown -w) and reads back; stopping again is a no-op', async () => {
    const r = await driver('xen1').stop('gateway', { force: false });
    expect(r.outcome).toBe('shut-down');
    expect(r.domain).toMatchObject({ name: 'gateway', status: 'defined' });
    expect(log('xen1')).toContain('timeout 5 xl shutdown -w gateway');
    expect((await driver('xen1').stop('gateway', { force: false })).outcome).toBe('already-stopped');
  });

  it('force-stops with destroy', async () => {
    await driver('xen1').start('gateway');
    const r = await driver('xen1').stop('gateway', { force: true });
    expect(r.outcome).toBe('destroyed');
    expect(log('xen1')).toContain('xl destroy gateway');
  });

  it('takes a console snapshot from the xenconsoled log, sanitized', async () => {
    const r = await driver('xen1').consoleSnapshot('web', 3);
    expect(r.source).toBe('log');
    expect(r.lines).toEqual(['Debian GNU/Linux 12 web hvc0', '', 'web login:']);
  });

  it('falls back to a bounded console attach when there is no log', async () => {
    env.sim.fleet.host('xen1').files.delete('/var/log/xen/console/guest-web.log');
    const r = await driver('xen1').consoleSnapshot('web', 5);
    expect(r.source).toBe('attach');
    expect(log('xen1')).toContain('timeout 3 xl console web');
  });

  it('reports top from the second xentop iteration', async () => {
    const rows = (await driver('xen1').topTable()).rows;
    expect(log('xen1')).toContain('xentop -b -i 2 -d 1');
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['Domain-0', 'web']));
    expect(rows.find((r) => r.name === 'Domain-0')?.maxMemoryKiB).toBeNull();
  });

  it('reads info', async () => {
    expect(await driver('xen2').info()).toMatchObject({ info: { host: 'xen2', xen_version: '4.17.3' }, notes: [] });
  });

  it('reads info and the list (for /status) in one round trip; a failing xl info fails it, naming xl info', async () => {
    const since = env.sim.log.lastSeq;
    const { info, domains } = await driver('xen2').infoAndList();
    expect(info).toMatchObject({ host: 'xen2', xen_version: '4.17.3' });
    expect(domains.map((d) => d.name)).toEqual(['Domain-0', 'files']);
    const sent = env.sim.log.query({ host: 'xen2', since });
    expect(sent.map((e) => e.command)).toEqual([
      'xl list -v',
      'ls -1 /etc/xen/vm',
      'ls -1 /etc/xen/auto',
      'ls -l /etc/xen/auto/',
      'xl info',
    ]);
    expect(new Set(sent.map((e) => e.trip)).size).toBe(1);
    env.sim.faults.failNext('xen2', { match: /^xl info$/, code: 1, stderr: 'libxl: error: cannot get physinfo' });
    const failed = await driver('xen2')
      .infoAndList()
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(RemoteCommandError);
    expect(String(failed)).toMatch(/xl info/);
  });

  it('migrates with streamed progress and verifies the domain on the target', async () => {
    const progress: ProgressUpdate[] = [];
    const r = await driver('xen1').migrate(
      'web',
      { host: 'xen2', address: 'xen2', verify: () => driver('xen2').list() },
      { onProgress: (p) => progress.push(p) },
    );
    expect(r.outcome).toBe('migrated');
    expect(r.domain).toMatchObject({ name: 'web' });
    expect(progress.filter((p) => p.percent !== undefined).map((p) => p.percent)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(r.transcript.at(-1)).toBe('Migration successful.');
    expect((await driver('xen1').list()).some((d) => d.name === 'web' && d.status !== 'defined')).toBe(false);
    const again = await driver('xen1').migrate('web', { host: 'xen2', address: 'xen2', verify: () => driver('xen2').list() });
    expect(again.outcome).toBe('already-on-target');
  });

  it('after a connection drop mid-create (which took effect) reads back instead of creating again', async () => {
    await driver('xen2').stop('files', { force: true });
    env.sim.faults.dropNext('xen2', { match: /create/, afterEffect: true });
    const r = await driver('xen2').start('files');
    expect(r.outcome).toBe('started');
    expect(log('xen2').filter((c) => c.startsWith('xl create')).length).toBe(1);
  });

  it('detects xl and xm hosts', async () => {
    expect(await detectToolstack(pool, 'xen1')).toBe('xl');
    expect(await detectToolstack(pool, 'old')).toBe('xm');
  });

  it('drives an xm host: list with UUIDs from xm list --long, and migrate-free lifecycle', async () => {
    const domains = await driver('old', 'xm').list();
    expect(domains.map((d) => [d.name, d.status, d.id, d.uuid])).toEqual([
      ['Domain-0', 'running', 0, DOM0_UUID],
      ['legacy-db.example.com', 'blocked', 1, domainUuid('legacy-db.example.com')],
    ]);
    expect(log('old')).toContain('xm list');
    expect(log('old')).toContain('timeout 10 xm list --long');
    expect(log('old')).not.toContain('xm list -v');
    expect((await driver('old', 'xm').stop('legacy-db.example.com', { force: true })).outcome).toBe('destroyed');
    const started = await driver('old', 'xm').start('legacy-db.example.com');
    expect(started.outcome).toBe('started');
    // Re-created under a new domid, with the UUID of its config: matched by name and the new domid.
    expect(started.domain).toMatchObject({ id: 2, uuid: domainUuid('legacy-db.example.com') });
    expect(log('old')).toContain('xm create /etc/xen/vm/legacy-db.example.com.cfg');
  });

  it('on an xm host whose xm list --long fails, still lists every domain from xm list, without UUIDs, and does not retry it', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.failNext('old', {
      match: /^timeout 10 xm list --long$/,
      code: 1,
      stderr: 'Error: Unable to connect to xend: Connection refused. Is xend running?\n',
    });
    const domains = await driver('old', 'xm').list();
    expect(domains.map((d) => [d.name, d.status, d.id, d.uuid])).toEqual([
      ['Domain-0', 'running', 0, null],
      ['legacy-db.example.com', 'blocked', 2, null],
    ]);
    expect(
      env.sim.log
        .query({ host: 'old', since, match: /xm list/ })
        .map((e) => e.command)
        .sort(),
    ).toEqual(['timeout 10 xm list --long', 'xm list']);
    // Nothing sticks: the next list has the UUIDs again.
    expect((await driver('old', 'xm').list()).map((d) => d.uuid)).toEqual([DOM0_UUID, domainUuid('legacy-db.example.com')]);
  });

  it('on an xm host, xm list, the config dirs, the autostart entries and xm list --long travel in one round trip, in that order', async () => {
    const since = env.sim.log.lastSeq;
    await driver('old', 'xm').list();
    expect(env.sim.log.query({ host: 'old', since }).map((e) => e.command)).toEqual([
      'xm list',
      'ls -1 /etc/xen/vm',
      'ls -1 /etc/xen/auto',
      'ls -l /etc/xen/auto/',
      'timeout 10 xm list --long',
    ]);
    expect(new Set(env.sim.log.query({ host: 'old', since }).map((e) => e.trip)).size).toBe(1);
  });

  it('on an xm host whose connection is lost during xm list --long, reads the whole batch again once: every domain, with UUIDs', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.dropNext('old', { match: /^timeout 10 xm list --long$/ });
    const domains = await driver('old', 'xm').list();
    expect(domains.map((d) => [d.name, d.status, d.uuid !== null])).toEqual([
      ['Domain-0', 'running', true],
      ['legacy-db.example.com', 'blocked', true],
    ]);
    expect(env.sim.log.query({ host: 'old', since, match: /^xm list$/ })).toHaveLength(2);
  });

  it('xl hosts never run list --long for a list', async () => {
    const since = env.sim.log.lastSeq;
    await driver('xen2').list();
    expect(env.sim.log.query({ host: 'xen2', since, match: /--long|list -l/ })).toEqual([]);
  });
});

describe('xm UUIDs from xm list --long (scripted runner)', () => {
  const XM_LIST = fixture('xm-list-four-instances__ganeti-xen-4.0.1.txt');
  const longOf = (...domains: [number, string, string][]) =>
    domains
      .map(([id, name, uuid]) => `(domain\n    (domid ${id})\n    (uuid ${uuid})\n    (name ${name})\n    (state -b----)\n)\n`)
      .join('');
  const U1 = 'e430b4b8-dc91-9390-dfe0-b83c138ea0aa';
  const U2 = '5f1f6c0e-0d35-4d2b-9a4e-8f0e1b2c3d4e';
  const U3 = '9b2d7a44-31c6-4e0f-8a57-2c1d0e9f8a7b';

  /** Answers `xm list` with the Ganeti sample and `xm list --long` with `long`; records what it was asked. */
  function scripted(long: RunResult | Error, list: RunResult | Error = { code: 0, stdout: XM_LIST, stderr: '' }) {
    const calls: string[] = [];
    const runner: RemoteRunner = {
      run: async (_host, words) => {
        calls.push(words.join(' '));
        // This host has no /etc/xen/auto (the list reads it in the same batch).
        const noDir = { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
        const answer =
          words.join(' ') === 'timeout 10 xm list --long'
            ? long
            : words.join(' ') === 'xm list'
              ? list
              : words[0] === 'ls'
                ? noDir
                : new Error(`unexpected ${words.join(' ')}`);
        if (answer instanceof Error) throw answer;
        return answer;
      },
    };
    const ts = new XenToolstack('xm', runner, {
      name: 'h',
      configDirs: [],
      consoleLogDir: '/var/log/xen/console',
      shutdownTimeoutSeconds: 5,
    });
    return { ts, calls };
  }
  const uuids = async (ts: XenToolstack) => (await ts.list()).map((d) => [d.name, d.id, d.uuid]);

  it('fills each row from the long entry of the same name and domid; a domain re-created in between (new domid) gets none', async () => {
    const { ts } = scripted({
      code: 0,
      stdout: longOf(
        [0, 'Domain-0', DOM0_UUID],
        [1, 'server01.example.com', U1],
        [7, 'web3106215069.example.com', U2],
        [2, 'testinstance.example.com', U3],
      ),
      stderr: '',
    });
    expect(await uuids(ts)).toEqual([
      ['Domain-0', 0, DOM0_UUID],
      ['server01.example.com', 1, U1],
      ['web3106215069.example.com', 3, null],
      ['testinstance.example.com', 2, U3],
    ]);
  });

  it('leaves every UUID null, and the list intact, when xm list --long is truncated or not SXP at all', async () => {
    const full = longOf([0, 'Domain-0', DOM0_UUID], [1, 'server01.example.com', U1]);
    for (const stdout of [full.slice(0, -3), 'Error: Unable to connect to xend\n', `${full})\n`]) {
      const { ts } = scripted({ code: 0, stdout, stderr: '' });
      const rows = await uuids(ts);
      expect(rows.map(([name, id]) => [name, id])).toEqual([
        ['Domain-0', 0],
        ['server01.example.com', 1],
        ['web3106215069.example.com', 3],
        ['testinstance.example.com', 2],
      ]);
      expect(rows.every(([, , uuid]) => uuid === null)).toBe(true);
    }
  });

  it('leaves UUIDs null when xm list --long fails (xend busy), trying it once', async () => {
    const { ts, calls } = scripted({ code: 1, stdout: '', stderr: 'Error: Unable to connect to xend\n' });
    expect((await ts.list()).map((d) => d.uuid)).toEqual([null, null, null, null]);
    expect(calls.filter((c) => c === 'timeout 10 xm list --long')).toHaveLength(1);
  });

  it('leaves UUIDs null, and the list intact, when xm list --long outlives its remote timeout (exit 124: a slow xend)', async () => {
    const { ts, calls } = scripted({ code: 124, stdout: '(domain\n    (domid 0)\n', stderr: '' });
    expect((await ts.list()).map((d) => d.uuid)).toEqual([null, null, null, null]);
    expect(calls.filter((c) => c === 'xm list')).toHaveLength(1);
  });

  it('leaves UUIDs null when xm list --long prints something unparsable', async () => {
    const { ts } = scripted({ code: 0, stdout: '(domain (domid', stderr: '' });
    expect((await ts.list()).map((d) => d.uuid)).toEqual([null, null, null, null]);
  });

  it('reads the list again once when the connection is lost during the batch, and fails as a transport failure the second time', async () => {
    const { ts, calls } = scripted(new TransportError('h', 'the connection to h was lost while xm ran'));
    await expect(ts.list()).rejects.toThrow(/tried twice/);
    expect(calls.filter((c) => c === 'xm list')).toHaveLength(2);
  });

  it('still fails the list when xm list itself fails, whatever xm list --long said', async () => {
    const { ts } = scripted(
      { code: 0, stdout: longOf([0, 'Domain-0', DOM0_UUID]), stderr: '' },
      { code: 1, stdout: '', stderr: 'Error: Unable to connect to xend\n' },
    );
    await expect(ts.list()).rejects.toBeInstanceOf(RemoteCommandError);
  });
});

describe('reads retried once, shutdown drops polled, resumed jobs verified (simulator, real SSH pool)', () => {
  let env: SimEnv;
  let pool: SshPool;
  // The guest takes 400 ms (20 s × 0.02) to power off: long enough to cut the connection while `shutdown -w` waits.
  const host = (shutdownTimeoutSeconds = 5) => ({
    name: 'xen1',
    configDirs: ['/etc/xen/vm'],
    consoleLogDir: '/var/log/xen/console',
    shutdownTimeoutSeconds,
  });
  const driver = (shutdownTimeoutSeconds = 5, options = {}) =>
    new XenToolstack('xl', pool, host(shutdownTimeoutSeconds), {
      readBack: { attempts: 3, delayMs: 20 },
      pollMs: 50,
      resumeWaitMs: 300,
      ...options,
    });
  const xen2 = () =>
    new XenToolstack('xl', pool, { ...host(), name: 'xen2' }, { readBack: { attempts: 3, delayMs: 20 }, pollMs: 50, resumeWaitMs: 300 });
  const sent = (h: string, re: RegExp, since: number) => env.sim.log.query({ host: h, since, match: re }).map((e) => e.command);
  const fleetHost = (h: string) => env.sim.fleet.host(h);
  const runDomain = (h: string, name: string) =>
    env.sim.fleet.addDomain(fleetHost(h), { name, memoryMiB: 1024, vcpus: 2, flags: '-b----' });
  const removeDomain = (h: string, name: string) => {
    const d = fleetHost(h).domains.find((x) => x.name === name);
    if (d) env.sim.fleet.removeDomain(fleetHost(h), d);
  };

  beforeAll(async () => {
    env = await startSimEnv({
      shutdownDelayMs: 20_000,
      fleet: twoHostFleet(),
    });
    pool = env.pool();
  });
  afterAll(async () => {
    await env.stop();
  });

  it('retries a read once on a fresh connection when the connection drops', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.dropNext('xen1', { match: /^xl list -v$/ });
    const domains = await driver().list();
    expect(domains.map((d) => d.name)).toEqual(['Domain-0', 'web', 'mail']);
    expect(sent('xen1', /^xl list -v$/, since)).toEqual(['xl list -v', 'xl list -v']);
  });

  it('reports a state check that fails twice as a transport failure naming the domain, and sends nothing', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.dropNext('xen1', { match: /^xl list -v$/ });
    env.sim.faults.dropNext('xen1', { match: /^xl list -v$/ });
    const error = await driver()
      .start('mail')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).not.toBeInstanceOf(OutcomeUnknownError);
    expect(describeFailure(error)).toEqual({
      code: 'transport',
      message: 'could not read the state of mail on xen1: the connection to xen1 was lost while xl ran (tried twice)',
    });
    expect(sent('xen1', /./, since)).toEqual(['xl list -v', 'xl list -v']);
  });

  it('after a drop while `shutdown -w` waits, polls the state and reports the shutdown it sees (never destroys)', async () => {
    const since = env.sim.log.lastSeq;
    const stopping = driver().stop('web', { force: false });
    await env.sim.log.waitFor({ host: 'xen1', since, match: /shutdown -w web/, timeoutMs: 5000 });
    expect(env.sim.faults.dropConnections('xen1')).toBeGreaterThan(0);
    const r = await stopping;
    expect(r).toEqual({ outcome: 'shut-down', domain: expect.objectContaining({ name: 'web', status: 'defined' }) });
    expect(sent('xen1', /shutdown|destroy/, since)).toEqual(['timeout 5 xl shutdown -w web']);
    // It watched the guest go down: more than one read after the shutdown was sent.
    expect(sent('xen1', /^xl list -v$/, since).length).toBeGreaterThan(2);
  });

  it('when the guest is still up once the shutdown time is over, says it may still be shutting down and to check the console', async () => {
    runDomain('xen1', 'web');
    const since = env.sim.log.lastSeq;
    // The connection is lost before the command ran: the guest never hears of it and stays up.
    env.sim.faults.dropNext('xen1', { match: /shutdown -w web/ });
    const error = await driver(1)
      .stop('web', { force: false })
      .catch((e: unknown) => e);
    expect(describeFailure(error)).toEqual({
      code: 'outcomeUnknown',
      message:
        'lost the connection to xen1 while web was shutting down; web is still blocked 1 s after the shutdown was sent and may still be shutting down — check its console',
    });
    expect(sent('xen1', /shutdown|destroy/, since)).toEqual(['timeout 1 xl shutdown -w web']);
  });

  it('mentions force only when `timeout` really expired (124), as an option for an operator who checked the console', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.failNext('xen1', { match: /shutdown -w web/, code: 124, stderr: '' });
    const error = await driver()
      .stop('web', { force: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect(describeFailure(error)).toEqual({
      code: 'outcomeUnknown',
      message:
        'web has not shut down within 5 s on xen1 (now: blocked): the shutdown request stays with the guest, which may still be shutting down — check its console; if it is hung, an operator may stop it with force (a hard power-off)',
    });
    env.sim.faults.failNext('xen1', { match: /shutdown -w web/, code: 0, stderr: '' });
    const returned = await driver()
      .stop('web', { force: false })
      .catch((e: unknown) => e);
    expect(describeFailure(returned)).toEqual({
      code: 'remote',
      message: 'xl shutdown web returned, but web is still blocked on xen1; check its console',
    });
    expect(sent('xen1', /destroy/, since)).toEqual([]);
  });

  it('verifies a resumed start by reading back, without creating again', async () => {
    const since = env.sim.log.lastSeq;
    runDomain('xen1', 'mail');
    const r = await driver().verifyStart('mail');
    expect(r).toEqual({ outcome: 'started', resumed: true, domain: expect.objectContaining({ name: 'mail', uuid: domainUuid('mail') }) });
    removeDomain('xen1', 'mail');
    const error = await driver()
      .verifyStart('mail')
      .catch((e: unknown) => e);
    expect(describeFailure(error)).toEqual({
      code: 'outcomeUnknown',
      message:
        'xl create for mail was issued on xen1 before the agent restarted; mail is not running there now (not running (defined)), and nothing was re-run',
    });
    expect(sent('xen1', /create/, since)).toEqual([]);
  });

  it('verifies a resumed stop up to the shutdown timeout counted from when it was sent', async () => {
    const since = env.sim.log.lastSeq;
    expect(
      describeFailure(
        await driver()
          .verifyStop('web', { force: false, issuedAt: Date.now() - 60_000 })
          .catch((e: unknown) => e),
      ),
    ).toEqual({
      code: 'outcomeUnknown',
      message:
        'xl shutdown web was issued on xen1 before the agent restarted; web is still blocked 60 s later and may still be shutting down (nothing was re-run) — check its console',
    });
    removeDomain('xen1', 'web');
    expect(await driver().verifyStop('web', { force: false, issuedAt: Date.now() })).toEqual({
      outcome: 'shut-down',
      resumed: true,
      domain: expect.objectContaining({ name: 'web', status: 'defined' }),
    });
    expect(sent('xen1', /shutdown|destroy/, since)).toEqual([]);
  });

  it('verifies a resumed migration on both hosts and tells what really happened', async () => {
    const since = env.sim.log.lastSeq;
    runDomain('xen1', 'web');
    const target = { host: 'xen2', verify: () => xen2().list() };
    expect(
      describeFailure(
        await driver()
          .verifyMigrate('web', target)
          .catch((e: unknown) => e),
      ),
    ).toEqual({
      code: 'remote',
      message:
        'the migration of web to xen2 was interrupted when the agent restarted: web is still running on xen1 and nothing moved (xen1: blocked, xen2: absent); nothing was re-run',
    });
    removeDomain('xen1', 'web');
    runDomain('xen2', 'web');
    expect(await driver().verifyMigrate('web', target)).toEqual({
      outcome: 'migrated',
      target: 'xen2',
      transcript: [],
      resumed: true,
      domain: expect.objectContaining({ name: 'web', uuid: domainUuid('web') }),
    });
    runDomain('xen1', 'web--migratedaway');
    expect(
      describeFailure(
        await driver()
          .verifyMigrate('web', target)
          .catch((e: unknown) => e),
      ),
    ).toEqual({
      code: 'outcomeUnknown',
      message:
        'the migration of web to xen2 was interrupted when the agent restarted and did not end cleanly (xen1: web--migratedaway blocked, xen2: blocked); nothing was re-run — check both hosts',
    });
    removeDomain('xen1', 'web--migratedaway');
    removeDomain('xen2', 'web');
    expect(sent('xen1', /migrate/, since)).toEqual([]);
  });
});
