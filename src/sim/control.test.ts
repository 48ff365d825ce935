import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRaw, type RawSsh, type SimEnv, startSimEnv } from '../../test/helpers/sim.ts';
import { SimControlClient, SimControlError } from './control-client.ts';
import { domainUuid } from './model.ts';

let env: SimEnv;
let control: SimControlClient;
const open: RawSsh[] = [];

/** A fresh SSH connection to a simulated host, closed after the test. */
async function ssh(host: string): Promise<RawSsh> {
  const c = await connectRaw(env.sim, host, env.clientKey.privateKey);
  open.push(c);
  return c;
}

const domainsOn = async (host: string) => (await control.state()).hosts[host]?.domains.map((d) => d.name) ?? [];

beforeAll(async () => {
  // Real time: a migration takes ~400 ms, long enough to cut it mid-way.
  env = await startSimEnv({ timeScale: 1, shutdownDelayMs: 50, controlPort: 0 });
  if (!env.sim.control) throw new Error('no control server');
  control = new SimControlClient(env.sim.control.url);
});

afterEach(async () => {
  for (const c of open.splice(0)) c.end();
  await control.clearFaults();
});

afterAll(async () => {
  await env?.stop();
});

describe('GET /state', () => {
  it('lists every host with its toolstack, free memory and domains (uuid, flags, status, memory, vcpus)', async () => {
    expect(env.sim.control?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const state = await control.state();
    expect(Object.keys(state.hosts)).toEqual(['xen1', 'xen2']);
    const xen1 = state.hosts['xen1'];
    expect(xen1).toMatchObject({ toolstack: 'xl', totalMemoryMiB: 32768, port: env.sim.hosts['xen1']?.port });
    expect(xen1?.hostKeyFingerprint).toBe(env.sim.hosts['xen1']?.hostKeyFingerprint);
    expect(xen1?.freeMemoryMiB).toBe(32768 - 2048 - 512 - 2048);
    expect(xen1?.domains.find((d) => d.name === 'web')).toMatchObject({
      id: 2,
      uuid: domainUuid('web'),
      flags: '-b----',
      status: 'blocked',
      memoryMiB: 2048,
      vcpus: 2,
    });
    expect(xen1?.domains.find((d) => d.name === 'Domain-0')?.status).toBe('running');
    expect(xen1?.configs).toContain('/etc/xen/vm/mail.cfg');
    // gateway starts with xen1 in the demo fleet: its /etc/xen/auto link is part of the state.
    expect(xen1?.links).toEqual([{ path: '/etc/xen/auto/gateway.cfg', target: '/etc/xen/vm/gateway.cfg' }]);
    expect(state.hosts['xen2']?.links).toEqual([]);
  });
});

describe('GET /log and /log/wait', () => {
  it('numbers every command fleet-wide with host, time and the exact text, and keeps commandLog', async () => {
    const { lastSeq } = await control.log();
    const t0 = Date.now();
    const a = await ssh('xen1');
    const b = await ssh('xen2');
    expect((await a.exec("'xl' 'list'")).code).toBe(0);
    expect((await b.exec('xl info')).code).toBe(0);
    const page = await control.log({ since: lastSeq });
    expect(page.entries.map((e) => [e.seq, e.host, e.command])).toEqual([
      [lastSeq + 1, 'xen1', "'xl' 'list'"],
      [lastSeq + 2, 'xen2', 'xl info'],
    ]);
    expect(page.entries.every((e) => e.at >= t0 && e.at <= Date.now() && e.end?.how === 'exit')).toBe(true);
    expect((await control.log({ host: 'xen2', since: lastSeq })).entries.map((e) => e.command)).toEqual(['xl info']);
    expect(env.sim.hosts['xen1']?.commandLog.at(-1)).toBe("'xl' 'list'");
  });

  it('answers a long poll as soon as enough matching commands arrive, and 408 with what it saw after the timeout', async () => {
    const { lastSeq } = await control.log();
    const waiting = control.waitForLog({ host: 'xen1', match: /'?xl'? '?list'?/, count: 2, since: lastSeq, timeoutMs: 10_000 });
    const c = await ssh('xen1');
    await c.exec('xl list');
    await c.exec('xl info');
    await c.exec("'xl' 'list'");
    const page = await waiting;
    expect(page.entries.map((e) => e.command)).toEqual(['xl list', "'xl' 'list'"]);

    const started = Date.now();
    const err = await control
      .waitForLog({ host: 'xen1', match: 'list', count: 3, since: lastSeq, timeoutMs: 150 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimControlError);
    expect((err as SimControlError).status).toBe(408);
    expect(((err as SimControlError).body as { entries: unknown[] }).entries).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('rejects bad parameters and unknown hosts', async () => {
    await expect(control.log({ match: '(' })).rejects.toMatchObject({ status: 400 });
    await expect(control.waitForLog({ host: 'xen9' })).rejects.toMatchObject({ status: 404 });
    await expect(control.waitForLog({ count: 0 })).rejects.toMatchObject({ status: 400 });
  });
});

describe('POST /faults', () => {
  it('fail: exits with the code and stderr and does nothing, for `times` matching commands only', async () => {
    const { id, fault } = await control.addFault({
      host: 'xen1',
      kind: 'fail',
      match: "'destroy'|destroy",
      code: 3,
      stderr: 'boom\n',
      times: 2,
    });
    expect(fault).toMatchObject({ id, host: 'xen1', kind: 'fail', code: 3, times: 2, remaining: 2 });
    expect((await control.faults()).map((f) => f.id)).toEqual([id]);
    const c = await ssh('xen1');
    expect(await c.exec('xl list')).toMatchObject({ code: 0 }); // does not match
    expect(await c.exec('xl destroy web')).toEqual({ stdout: '', stderr: 'boom\n', code: 3 });
    expect(await c.exec('xl destroy gateway')).toEqual({ stdout: '', stderr: 'boom\n', code: 3 });
    expect(await domainsOn('xen1')).toEqual(['Domain-0', 'gateway', 'web']);
    expect(await control.faults()).toEqual([]);
    // Faults are per host: xen2 never had one.
    expect((await (await ssh('xen2')).exec('xl list')).code).toBe(0);
  });

  it('delay: answers late; a command whose client left during the delay still takes effect', async () => {
    const c = await ssh('xen1');
    await control.addFault({ host: 'xen1', kind: 'delay', match: 'list', ms: 200 });
    const started = Date.now();
    expect((await c.exec('xl list')).code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);

    const { lastSeq } = await control.log();
    await control.addFault({ host: 'xen1', kind: 'delay', match: "'create'", ms: 300 });
    const gone = await ssh('xen1');
    void gone.start("'xl' 'create' '/etc/xen/vm/mail.cfg'");
    await control.waitForLog({ host: 'xen1', match: 'create', since: lastSeq });
    gone.socket.destroy();
    const [entry] = (await control.waitForLog({ host: 'xen1', match: 'create', since: lastSeq, ended: true })).entries;
    expect(entry?.end).toMatchObject({ how: 'client-gone', code: 0 });
    expect(entry?.fault?.kind).toBe('delay');
    expect(await domainsOn('xen1')).toContain('mail');
    expect((await c.exec('xl destroy mail')).code).toBe(0);
  });

  it('delay: a migration whose client left during the delay stops (it streams to its client)', async () => {
    const { lastSeq } = await control.log();
    await control.addFault({ host: 'xen1', kind: 'delay', match: 'migrate', ms: 200 });
    const c = await ssh('xen1');
    void c.start('xl migrate gateway xen2');
    await control.waitForLog({ host: 'xen1', match: 'migrate', since: lastSeq });
    c.socket.destroy();
    const [entry] = (await control.waitForLog({ host: 'xen1', match: 'migrate', since: lastSeq, ended: true })).entries;
    expect(entry?.end?.how).toBe('client-gone');
    expect(await domainsOn('xen1')).toContain('gateway');
    expect(await domainsOn('xen2')).not.toContain('gateway');
  });

  it('hang: never answers; destroying the client TCP socket ends it', async () => {
    const { lastSeq } = await control.log();
    await control.addFault({ host: 'xen1', kind: 'hang', match: '^xl info$' });
    const c = await ssh('xen1');
    const run = await c.start('xl info');
    await control.waitForLog({ host: 'xen1', match: '^xl info$', since: lastSeq });
    expect((await control.state()).hosts['xen1']?.activeCommands).toBe(1);
    c.socket.destroy();
    const [entry] = (await control.waitForLog({ host: 'xen1', match: '^xl info$', since: lastSeq, ended: true })).entries;
    expect(entry?.end?.how).toBe('client-gone');
    expect(await run.done).toMatchObject({ stdout: '', code: null });
    expect((await control.state()).hosts['xen1']?.activeCommands).toBe(0);
  });

  it('hang: closing just the channel ends it too, and the connection stays usable', async () => {
    const { lastSeq } = await control.log();
    await control.addFault({ host: 'xen1', kind: 'hang', match: 'uptime' });
    const c = await ssh('xen1');
    const stream = await new Promise<{ close(): void }>((resolve, reject) =>
      c.client.exec('xl uptime', (err, s) => (err ? reject(err) : resolve(s))),
    );
    await control.waitForLog({ host: 'xen1', match: 'uptime', since: lastSeq });
    stream.close();
    const [entry] = (await control.waitForLog({ host: 'xen1', match: 'uptime', since: lastSeq, ended: true })).entries;
    expect(entry?.end?.how).toBe('client-gone');
    expect((await c.exec('xl uptime')).code).toBe(0);
  });

  it('drop: cuts the connection without an exit status; afterEffect runs the command first', async () => {
    await control.addFault({ host: 'xen1', kind: 'drop', match: 'pause' });
    const c1 = await ssh('xen1');
    expect((await c1.exec('xl pause web')).code).toBeNull();
    expect((await control.state()).hosts['xen1']?.domains.find((d) => d.name === 'web')?.flags).toBe('-b----');

    await control.addFault({ host: 'xen1', kind: 'drop', match: 'pause', afterEffect: true });
    const c2 = await ssh('xen1');
    expect((await c2.exec('xl pause web')).code).toBeNull();
    expect((await control.state()).hosts['xen1']?.domains.find((d) => d.name === 'web')?.status).toBe('paused');
    expect((await (await ssh('xen1')).exec('xl unpause web')).code).toBe(0);
    expect((await control.log({ match: 'pause' })).entries.filter((e) => e.end?.how === 'dropped')).toHaveLength(2);
  });

  it('times: 0 applies to every matching command until deleted', async () => {
    const { id } = await control.addFault({ host: 'xen2', kind: 'fail', match: /^xl info$/, times: 0 });
    const c = await ssh('xen2');
    for (let i = 0; i < 3; i++) expect((await c.exec('xl info')).code).toBe(1);
    expect((await control.faults())[0]).toMatchObject({ id, hits: 3, remaining: null });
    await control.deleteFault(id);
    expect((await c.exec('xl info')).code).toBe(0);
  });

  it('hostKey: new connections see another key until the fault is deleted', async () => {
    const original = env.sim.hosts['xen2']?.hostKeyFingerprint;
    const { id, fault } = await control.addFault({ host: 'xen2', kind: 'hostKey' });
    expect(fault.fingerprint).toMatch(/^SHA256:/);
    expect(fault.fingerprint).not.toBe(original);
    expect((await control.state()).hosts['xen2']?.hostKeyFingerprint).toBe(fault.fingerprint);
    expect(env.sim.hosts['xen2']?.hostKeyFingerprint).toBe(fault.fingerprint);
    await control.deleteFault(id);
    expect((await control.state()).hosts['xen2']?.hostKeyFingerprint).toBe(original);

    await control.addFault({ host: 'xen2', kind: 'hostKey' });
    await control.clearFaults();
    expect(env.sim.hosts['xen2']?.hostKeyFingerprint).toBe(original);
    expect((await (await ssh('xen2')).exec('true')).code).toBe(0);
  });

  it('refuses unknown hosts, kinds and fields, bad regexes, a delay without ms, and unknown ids', async () => {
    await expect(control.addFault({ host: 'xen9', kind: 'fail' })).rejects.toMatchObject({ status: 404 });
    await expect(control.addFault({ host: 'xen1', kind: 'explode' as 'fail' })).rejects.toMatchObject({ status: 400 });
    await expect(control.addFault({ host: 'xen1', kind: 'fail', match: '[' })).rejects.toMatchObject({ status: 400 });
    await expect(control.addFault({ host: 'xen1', kind: 'delay' })).rejects.toMatchObject({ status: 400 });
    await expect(control.deleteFault('f999999')).rejects.toMatchObject({ status: 404 });
    expect(await control.faults()).toEqual([]);
  });
});

describe('POST /hosts/HOST/drop-connections', () => {
  it('cuts every live connection to that host only', async () => {
    const a = await ssh('xen1');
    const b = await ssh('xen1');
    const other = await ssh('xen2');
    const closed = (c: RawSsh) => new Promise<void>((resolve) => c.client.once('close', () => resolve()));
    const both = Promise.all([closed(a), closed(b)]);
    expect(await control.dropConnections('xen1')).toEqual({ host: 'xen1', dropped: 2 });
    await both;
    expect((await other.exec('true')).code).toBe(0);
    await expect(control.dropConnections('nope')).rejects.toMatchObject({ status: 404 });
  });
});

describe('the control server', () => {
  it('answers only requests addressed to a loopback name', async () => {
    const url = new URL(env.sim.control?.url ?? '');
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: url.port, path: '/state', headers: { host: 'evil.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('keeps the in-process fault API: failNext, hangNext, dropNext, delayNext, activity, clear', async () => {
    const c = await ssh('xen2');
    env.sim.faults.failNext('xen2', { match: /^one$/, code: 7, stderr: 'seven' });
    expect(await c.exec('one')).toEqual({ stdout: '', stderr: 'seven', code: 7 });
    env.sim.faults.delayNext('xen2', { match: /^true$/, ms: 50 });
    expect((await c.exec('true')).code).toBe(0);
    env.sim.faults.hangNext('xen2', /^never$/);
    env.sim.faults.dropNext('xen2', { match: /^never$/ });
    expect((await control.faults()).map((f) => f.kind)).toEqual(['hang', 'drop']);
    env.sim.faults.clear();
    expect(await control.faults()).toEqual([]);
    expect(env.sim.faults.activity('xen2').active).toBe(0);
  });
});

describe('a migration whose client dies', () => {
  it('stops: the domain stays on the source under its own name and nothing appears on the target', async () => {
    const { lastSeq } = await control.log();
    const c = await ssh('xen1');
    const run = await c.start('xl migrate web xen2');
    // Mid-transfer: the first progress line has been sent.
    await run.stderrMatches(/Reloading memory pages: .* 10%/);
    c.socket.destroy();
    const [entry] = (await control.waitForLog({ host: 'xen1', match: 'migrate', since: lastSeq, ended: true })).entries;
    expect(entry?.end?.how).toBe('client-gone');
    const state = await control.state();
    expect(state.hosts['xen1']?.domains.find((d) => d.uuid === domainUuid('web'))?.name).toBe('web');
    expect(state.hosts['xen2']?.domains.map((d) => d.name)).toEqual(['Domain-0', 'files']);
    expect(state.hosts['xen2']?.freeMemoryMiB).toBe(16384 - 2048 - 4096);

    // And it can still be migrated properly afterwards, keeping its UUID.
    const again = await (await ssh('xen1')).exec('xl migrate web xen2');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('Migration successful.');
    const after = await control.state();
    expect(after.hosts['xen1']?.domains.map((d) => d.name)).not.toContain('web');
    expect(after.hosts['xen2']?.domains.find((d) => d.name === 'web')?.uuid).toBe(domainUuid('web'));
  });
});
