import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CommandTimeoutError } from '../../src/agent/ssh/deadline.ts';
import { SshPool } from '../../src/agent/ssh/pool.ts';
import { HostConfig, SshDefaults } from '../../src/config/schema.ts';
import { OutcomeUnknownError, TransportError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/log.ts';
import { fingerprintOf, generateClientKey, generateEd25519KeyPair } from '../../src/sim/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { quietLogger, type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { type RealSshd, sshdAvailable, startRealSshd } from '../helpers/sshd.ts';

/**
 * Short commands travel over a persistent command session per connection slot (src/core/remote-session.ts)
 * instead of an exec channel each: the simulator counts channels, so "one round trip, no new channel" is a number.
 */
describe('command sessions against the simulator', () => {
  let env: SimEnv;
  beforeAll(async () => {
    env = await startSimEnv();
  });
  afterAll(async () => {
    await env.stop();
  });
  const channels = (host: string) => env.sim.faults.activity(host).channels;

  it('reuses one session for commands one after another: no channel is opened after the first', async () => {
    const pool = env.pool();
    await pool.run('xen1', ['xl', 'list']);
    const before = channels('xen1');
    for (let i = 0; i < 10; i++) expect((await pool.run('xen1', ['xl', 'list'])).code).toBe(0);
    expect(channels('xen1')).toBe(before);
  });

  it('runs a batch in one request, in order, with each exit code, stdout and stderr', async () => {
    const pool = env.pool();
    await pool.run('xen2', ['true']);
    const before = channels('xen2');
    const since = env.sim.log.lastSeq;
    const [list, bad, dir] = await pool.runBatch('xen2', [
      ['xl', 'list'],
      ['xl', 'list', 'nosuch'],
      ['ls', '-1', '/etc/xen/vm'],
    ]);
    expect(list?.code).toBe(0);
    expect(list?.stdout).toMatch(/^Name +ID +Mem/);
    expect(bad).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining('nosuch is an invalid domain identifier') });
    expect(dir?.stdout.split('\n')).toContain('files.cfg');
    expect(env.sim.log.query({ host: 'xen2', since }).map((e) => e.command)).toEqual(['xl list', 'xl list nosuch', 'ls -1 /etc/xen/vm']);
    expect(channels('xen2')).toBe(before);
  });

  it('keeps one session per concurrent caller, up to the host cap, and no more', async () => {
    const pool = env.pool({}, { maxConcurrent: 3 });
    await Promise.all(Array.from({ length: 12 }, () => pool.run('xen1', ['xl', 'list'])));
    const before = channels('xen1');
    await Promise.all(Array.from({ length: 12 }, () => pool.run('xen1', ['xl', 'list'])));
    expect(channels('xen1')).toBe(before);
    expect(env.sim.faults.activity('xen1').maxActive).toBeLessThanOrEqual(3);
  });

  it('a command that hangs past its timeout is an unknown outcome; the next command runs on a fresh connection', async () => {
    const pool = env.pool();
    await pool.run('xen1', ['true']);
    env.sim.faults.hangNext('xen1', /hang-in-session/);
    const err = await pool.run('xen1', ['hang-in-session'], { timeoutMs: 1200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandTimeoutError);
    expect(err).toMatchObject({ timeoutMs: 1200, message: 'hang-in-session on xen1 did not finish within 1 s; its outcome is unknown' });
    // The simulator saw the client go away from the hung command.
    await env.sim.log.waitFor({ host: 'xen1', match: /hang-in-session/, ended: true, timeoutMs: 5000 });
    expect((await pool.run('xen1', ['xl', 'list'])).code).toBe(0);
  });

  it('a connection dropped under a session command is an unknown outcome, never a retry', async () => {
    const pool = env.pool();
    await pool.run('xen2', ['true']);
    const since = env.sim.log.lastSeq;
    env.sim.faults.dropNext('xen2', { match: /drop-in-session/, afterEffect: true });
    const err = await pool.run('xen2', ['drop-in-session']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect((err as Error).message).toBe('the connection to xen2 was lost while drop-in-session ran; its outcome is unknown');
    expect(env.sim.log.query({ host: 'xen2', since, match: /drop-in-session/ })).toHaveLength(1);
    expect((await pool.run('xen2', ['xl', 'list'])).code).toBe(0);
  });

  it('a command aborted while the connection is being made is never sent (a TransportError: nothing ran)', async () => {
    const pool = env.pool();
    const since = env.sim.log.lastSeq;
    const abort = new AbortController();
    const running = pool.run('xen1', ['xl', 'create', '/etc/xen/vm/mail.cfg'], { signal: abort.signal });
    abort.abort();
    const err = await running.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).not.toBeInstanceOf(OutcomeUnknownError);
    expect(env.sim.log.query({ host: 'xen1', since, match: /create/ })).toEqual([]);
  });

  it('commands that stream their output still get an exec channel of their own', async () => {
    const pool = env.pool();
    await pool.run('xen1', ['true']);
    const before = channels('xen1');
    const chunks: string[] = [];
    await pool.run('xen1', ['xl', 'list'], { onStdout: (c) => chunks.push(c) });
    expect(chunks.join('')).toMatch(/^Name/);
    expect(channels('xen1')).toBe(before + 1);
  });
});

describe('a command that times out leaves the rest of its connection alone', () => {
  let env: SimEnv;
  beforeAll(async () => {
    // timeScale 5: the simulator's `xl migrate` of web takes ~2 s, long enough to overlap.
    env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 5 });
  });
  afterAll(async () => {
    await env.stop();
  });

  it('does not cut a migration streaming on the same connection', async () => {
    const pool = env.pool({}, { commandTimeoutMs: 10_000 });
    expect((await pool.run('xen1', ['true'])).code).toBe(0);
    const since = env.sim.log.lastSeq;
    // The migration streams its progress: an exec channel of its own on the pooled connection.
    const migrating = pool.run('xen1', ['xl', 'migrate', 'web', 'xen2'], { timeoutMs: 60_000, onStderr: () => {} });
    await env.sim.log.waitFor({ host: 'xen1', since, match: /migrate/, timeoutMs: 5000 });
    env.sim.faults.hangNext('xen1', /hang-me/);
    await expect(pool.run('xen1', ['hang-me'], { timeoutMs: 300 })).rejects.toBeInstanceOf(CommandTimeoutError);
    expect((await migrating).code).toBe(0);
    expect(env.sim.log.query({ host: 'xen1', since, match: /migrate/ })[0]?.end).toMatchObject({ how: 'exit', code: 0 });
  });

  it('does not turn a command running beside it in another session into an unknown outcome', async () => {
    const pool = env.pool({}, { commandTimeoutMs: 10_000 });
    expect((await pool.run('xen2', ['true'])).code).toBe(0);
    const since = env.sim.log.lastSeq;
    env.sim.faults.delayNext('xen2', { match: /slow-but-fine/, ms: 1500 });
    env.sim.faults.hangNext('xen2', /hang-me/);
    const slow = pool.run('xen2', ['slow-but-fine']);
    await env.sim.log.waitFor({ host: 'xen2', since, match: /slow-but-fine/, timeoutMs: 5000 });
    await expect(pool.run('xen2', ['hang-me'], { timeoutMs: 300 })).rejects.toBeInstanceOf(CommandTimeoutError);
    // Not a command the simulator knows: it ran and answered.
    expect(await slow).toMatchObject({ code: 127 });
  });
});

describe('opening a command session', () => {
  let server: InstanceType<typeof ssh2.Server> | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('is bounded by the command’s timeout: a server that never answers the session request gets nothing sent', async () => {
    // A server that authenticates and answers keepalives but holds every exec request (sshd stuck setting up the
    // session: a hung PAM module); it answers one only when the test says so.
    const hostKey = generateEd25519KeyPair('stuck').privateKey;
    const clientKey = generateClientKey();
    const held: (() => ssh2.ServerChannel)[] = [];
    const execs: string[] = [];
    server = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => {
      conn.on('error', () => {});
      conn.on('authentication', (ctx) => ctx.accept());
      conn.on('ready', () => {
        conn.on('session', (accept) => {
          accept().on('exec', (acceptExec, _reject, info) => {
            execs.push(info.command);
            held.push(acceptExec);
          });
        });
      });
    });
    const srv = server;
    const port = await new Promise<number>((resolve) =>
      srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)),
    );
    const pool = new SshPool({
      hosts: { stuck: HostConfig.parse({ address: '127.0.0.1', port, privateKey: clientKey.privateKey, hostKey: fingerprintOf(hostKey) }) },
      defaults: SshDefaults.parse({ commandTimeoutMs: 500 }),
      logger: quietLogger,
    });
    try {
      const err = await pool.run('stuck', ['xl', 'list']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransportError);
      expect(err).not.toBeInstanceOf(OutcomeUnknownError);
      expect((err as Error).message).toMatch(/^could not start xl on stuck: no command session opened within /);
      // Only the session's own script was asked for; no exec of the command was tried after it.
      expect(execs).toHaveLength(1);
      // When the server answers at last, the channel it gives is closed at once.
      const channel = held[0]?.();
      // Read from, or ssh2 never emits the end that its close waits for.
      channel?.resume();
      let closed = false;
      channel?.on('close', () => (closed = true));
      await expect.poll(() => closed, { timeout: 5000 }).toBe(true);
    } finally {
      await pool.close();
    }
  });
});

describe.skipIf(!sshdAvailable)('command sessions against a real OpenSSH sshd', () => {
  let sshd: RealSshd;
  const pools: SshPool[] = [];
  const warnings: string[] = [];
  const logger = createLogger('warn', { write: (line: string) => warnings.push(JSON.parse(line).msg as string) });
  const pool = (server: RealSshd = sshd) => {
    const p = new SshPool({
      hosts: {
        real: HostConfig.parse({
          address: '127.0.0.1',
          port: server.port,
          privateKey: server.clientKey.privateKey,
          hostKey: server.hostKeyFingerprint,
        }),
      },
      defaults: SshDefaults.parse({ commandTimeoutMs: 8000 }),
      logger,
    });
    pools.push(p);
    return p;
  };
  beforeAll(async () => {
    sshd = await startRealSshd(fixture('xl-list__uva-sne-xen-4.9.2.txt'));
  });
  afterAll(async () => {
    for (const p of pools) await p.close();
    await sshd?.stop();
  });

  it('runs the session script under the real login shell: a batch comes back whole, exit codes and stderr included', async () => {
    const p = pool();
    const [list, bad, printed] = await p.runBatch('real', [
      ['xl', 'list'],
      ['xl', 'destroy', 'web; id'],
      ['printf', '%s\\n', "a b 'c' $(id)"],
    ]);
    expect(list?.code).toBe(0);
    expect(list?.stdout).toBe(fixture('xl-list__uva-sne-xen-4.9.2.txt'));
    expect(bad).toEqual({ code: 1, stdout: '', stderr: 'web; id is an invalid domain identifier (rc=-6)\n' });
    expect(printed).toEqual({ code: 0, stdout: "a b 'c' $(id)\n", stderr: '' });
    // The session's temp dir is gone once the pool closes it.
    await p.close();
  });

  it('falls back to one exec per command on a host where the session cannot start, and runs nothing twice', async () => {
    // A Dom0 whose TMPDIR is missing: the script's mktemp fails (exit 97) before it reads anything.
    const broken = await startRealSshd(fixture('xl-list__uva-sne-xen-4.9.2.txt'), { env: { TMPDIR: '/nonexistent/xenops' } });
    try {
      const counter = join(broken.dir, 'xl-calls');
      const xl = join(broken.dir, 'bin', 'xl');
      writeFileSync(counter, '');
      writeFileSync(xl, readFileSync(xl, 'utf8').replace('#!/bin/sh\n', `#!/bin/sh\necho x >> '${counter}'\n`));
      const p = pool(broken);
      warnings.length = 0;
      const r = await p.run('real', ['xl', 'list']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(fixture('xl-list__uva-sne-xen-4.9.2.txt'));
      expect(readFileSync(counter, 'utf8')).toBe('x\n');
      expect(warnings).toEqual(['this host cannot run a command session; using one exec channel per command']);
      const [a, b] = await p.runBatch('real', [
        ['xl', 'list'],
        ['xl', 'list'],
      ]);
      expect([a?.code, b?.code]).toEqual([0, 0]);
      expect(readFileSync(counter, 'utf8')).toBe('x\nx\nx\n');
      // Decided once per host: no second attempt, no second warning.
      expect(warnings).toHaveLength(1);
      await p.close();
    } finally {
      await broken.stop();
    }
  });

  it('leaves no temp dir behind when the session ends', async () => {
    const dir = join(sshd.dir, 'private-tmp');
    mkdirSync(dir, { recursive: true });
    // A TMPDIR of this test's own, so no other session on this machine can disturb the count.
    const own = await startRealSshd(fixture('xl-list__uva-sne-xen-4.9.2.txt'), { env: { TMPDIR: dir } });
    try {
      const p = pool(own);
      await p.run('real', ['xl', 'list']);
      expect(readdirSync(dir)).toHaveLength(1);
      await p.close();
      // The remote shell exits when its channel closes and its EXIT trap removes the dir; waited for, bounded.
      await expect.poll(() => readdirSync(dir), { timeout: 5000 }).toEqual([]);
    } finally {
      await own.stop();
    }
  });
});
