import { NodeSSH } from 'node-ssh';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRaw, type RawSsh, type SimEnv, startSimEnv } from '../../test/helpers/sim.ts';
import { SimControlClient } from './control-client.ts';

let env: SimEnv;
let control: SimControlClient;
const open: { end(): void; dispose?(): void }[] = [];

async function raw(host: string): Promise<RawSsh> {
  const c = await connectRaw(env.sim, host, env.clientKey.privateKey);
  open.push(c);
  return c;
}

/** The node-ssh client xenops itself uses (src/agent/ssh), pinned to nothing: these tests are about reachability. */
async function nodeSsh(host: string): Promise<NodeSSH> {
  const ssh = new NodeSSH();
  open.push({ end: () => ssh.dispose() });
  await ssh.connect({
    host: '127.0.0.1',
    port: env.sim.hosts[host]?.port ?? 0,
    username: 'root',
    privateKey: env.clientKey.privateKey,
    readyTimeout: 5000,
  });
  return ssh;
}

const domainOn = async (host: string, name: string) => (await control.state()).hosts[host]?.domains.find((d) => d.name === name);

beforeAll(async () => {
  // Real time: a migration takes ~400 ms, long enough to take its target down mid-copy.
  env = await startSimEnv({ timeScale: 1, shutdownDelayMs: 50, controlPort: 0 });
  if (!env.sim.control) throw new Error('no control server');
  control = new SimControlClient(env.sim.control.url);
});

afterEach(async () => {
  for (const c of open.splice(0)) c.end();
  // Also brings any host taken down back up, so one failed test does not take the next ones with it.
  await control.clearFaults();
});

afterAll(async () => {
  await env?.stop();
});

describe('POST /hosts/HOST/down and /up', () => {
  it('down: cuts the live connections, refuses new ones and shows in /state; up: connections work again', async () => {
    const live = await raw('xen1');
    const other = await raw('xen2');
    const closed = new Promise<void>((resolve) => live.client.once('close', () => resolve()));
    expect(await control.hostDown('xen1')).toEqual({ host: 'xen1', down: true, dropped: 1 });
    await closed;

    const refused = await nodeSsh('xen1').catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
    const state = await control.state();
    expect(state.hosts['xen1']).toMatchObject({ down: true, connections: 0 });
    expect(state.hosts['xen2']?.down).toBe(false);
    // Only that host: xen2's connection is untouched.
    expect((await other.exec('xl list')).code).toBe(0);

    expect(await control.hostUp('xen1')).toEqual({ host: 'xen1', down: false });
    expect((await control.state()).hosts['xen1']?.down).toBe(false);
    const again = await nodeSsh('xen1');
    const list = await again.execCommand("'xl' 'list'");
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^web\s+\d+\s+2048\s+2\s+-b----/m);
  });

  it('is idempotent, keeps the port and the host key, and a hostKey fault armed while down shows once it is up', async () => {
    const before = (await control.state()).hosts['xen2'];
    await control.hostDown('xen2');
    expect(await control.hostDown('xen2')).toEqual({ host: 'xen2', down: true, dropped: 0 });
    const { fault } = await control.addFault({ host: 'xen2', kind: 'hostKey' });
    await expect(nodeSsh('xen2')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await control.hostUp('xen2');
    expect(await control.hostUp('xen2')).toEqual({ host: 'xen2', down: false });
    const after = (await control.state()).hosts['xen2'];
    expect(after?.port).toBe(before?.port);
    expect(after?.hostKeyFingerprint).toBe(fault.fingerprint);
    expect((await (await raw('xen2')).exec('true')).code).toBe(0);
  });

  it('DELETE /faults brings a host taken down back up', async () => {
    await control.hostDown('xen1');
    await control.clearFaults();
    expect((await control.state()).hosts['xen1']?.down).toBe(false);
    expect((await (await raw('xen1')).exec('true')).code).toBe(0);
  });

  it('404 for an unknown host', async () => {
    await expect(control.hostDown('xen9')).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining('no simulated host xen9'),
    });
    await expect(control.hostUp('xen9')).rejects.toMatchObject({ status: 404 });
  });

  it('a migration to a host that is down fails as xl does when its ssh transport is refused', async () => {
    await control.hostDown('xen2');
    const r = await (await raw('xen1')).exec('xl migrate gateway xen2');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ssh: connect to host xen2 port 22: Connection refused');
    expect(r.stderr).not.toContain('Migration successful');
    expect(await domainOn('xen1', 'gateway')).toMatchObject({ status: 'blocked' });
    expect(await domainOn('xen2', 'gateway')).toBeUndefined();
  });

  it('a migration whose target goes down mid-copy stalls (its stream waits on TCP) and goes on once it is up', async () => {
    const c = await raw('xen2');
    const run = await c.start('xl migrate files xen1');
    await run.stderrMatches(/Reloading memory pages: .* 10%/);
    await control.hostDown('xen1');
    // A stall is the absence of an event: give it longer than the whole copy takes (~400 ms) to show none comes.
    const finished = await Promise.race([run.done.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 800))]);
    expect(finished).toBe(false);
    expect(await domainOn('xen2', 'files')).toMatchObject({ status: 'blocked' });
    expect(await domainOn('xen1', 'files--incoming')).toMatchObject({ status: 'paused' });

    await control.hostUp('xen1');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Migration successful.');
    expect(await domainOn('xen1', 'files')).toBeDefined();
    // Put it back for the tests below.
    expect((await (await raw('xen1')).exec('xl migrate files xen2')).code).toBe(0);
  });
});

describe('POST /hosts/HOST/domains/NAME/crash', () => {
  it('preserve (the default): xl list shows the guest crashed and paused, --psc-, and its console the panic', async () => {
    const { lastSeq } = await control.log();
    expect(await control.crashDomain('xen1', 'web')).toEqual({ host: 'xen1', domain: 'web', onCrash: 'preserve', status: 'crashed' });
    const c = await nodeSsh('xen1');
    const list = await c.execCommand('xl list');
    expect(list.stdout).toMatch(/^web\s+\d+\s+2048\s+2\s+--psc-/m);
    expect(await domainOn('xen1', 'web')).toMatchObject({ status: 'crashed', flags: '--psc-' });
    // Nothing was sent by a client: the log holds only the xl list above.
    expect((await control.log({ since: lastSeq })).entries.map((e) => e.command)).toEqual(['xl list']);
    expect((await c.execCommand('cat /var/log/xen/console/guest-web.log')).stdout).toContain('Kernel panic - not syncing');
    // Clean up for the next tests: a crashed guest is destroyed by hand.
    expect((await c.execCommand('xl destroy web')).code).toBe(0);
    expect((await c.execCommand("'xl' 'create' '/etc/xen/vm/web.cfg'")).code).toBe(0);
  });

  it('destroy: the guest is gone from xl list', async () => {
    expect(await control.crashDomain('xen1', 'gateway', { onCrash: 'destroy' })).toEqual({
      host: 'xen1',
      domain: 'gateway',
      onCrash: 'destroy',
      status: 'destroyed',
    });
    const list = await (await nodeSsh('xen1')).execCommand('xl list');
    expect(list.code).toBe(0);
    expect(list.stdout).not.toMatch(/^gateway\s/m);
    expect(await domainOn('xen1', 'gateway')).toBeUndefined();
  });

  it('409 for a guest that is not running (defined only, paused, crashed already, Domain-0); 404 for unknown ones', async () => {
    await expect(control.crashDomain('xen1', 'mail')).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('mail is not running on xen1'),
    });
    const c = await raw('xen2');
    expect((await c.exec('xl pause files')).code).toBe(0);
    await expect(control.crashDomain('xen2', 'files')).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('files is not running on xen2 (paused)'),
    });
    expect((await c.exec('xl unpause files')).code).toBe(0);
    await control.crashDomain('xen2', 'files');
    await expect(control.crashDomain('xen2', 'files')).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('(crashed)'),
    });
    await expect(control.crashDomain('xen2', 'Domain-0')).rejects.toMatchObject({ status: 409 });
    await expect(control.crashDomain('xen2', 'nosuch')).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining('no domain nosuch on xen2'),
    });
    await expect(control.crashDomain('xen9', 'web')).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining('no simulated host'),
    });
  });

  it('400 for a bad body', async () => {
    await expect(control.crashDomain('xen1', 'web', { onCrash: 'restart' as 'destroy' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('onCrash'),
    });
    const res = await fetch(`${env.sim.control?.url}/hosts/xen1/domains/web/crash`, {
      method: 'POST',
      body: '{"onCrash":"destroy","x":1}',
    });
    expect(res.status).toBe(400);
    expect(await domainOn('xen1', 'web')).toMatchObject({ status: 'blocked' });
  });

  it('is listed in GET /', async () => {
    const index = (await (await fetch(`${env.sim.control?.url}/`)).json()) as { endpoints: string[] };
    expect(index.endpoints).toEqual(
      expect.arrayContaining(['POST /hosts/HOST/down', 'POST /hosts/HOST/up', 'POST /hosts/HOST/domains/NAME/crash']),
    );
  });
});
