import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandTimeoutError } from '../../src/agent/ssh/deadline.ts';
import { SshPool } from '../../src/agent/ssh/pool.ts';
import { XenToolstack } from '../../src/agent/toolstack/driver.ts';
import { HostConfig, SshDefaults } from '../../src/config/schema.ts';
import { HostKeyError, OutcomeUnknownError, UserError } from '../../src/core/errors.ts';
import { fixture } from '../helpers/fixtures.ts';
import { quietLogger } from '../helpers/sim.ts';
import { FAKE_XL_UUIDS, type RealSshd, readArgv, sshdAvailable, startRealSshd, teachXlListV } from '../helpers/sshd.ts';

if (!sshdAvailable) {
  console.warn('SKIPPED: the real-sshd suite needs /usr/sbin/sshd (apt-get install openssh-server; .ci/run installs it)');
}

describe.skipIf(!sshdAvailable)('against a real OpenSSH sshd on loopback', () => {
  let sshd: RealSshd;
  const pools: SshPool[] = [];
  const pool = (host: Partial<HostConfig> = {}) => {
    const p = new SshPool({
      hosts: {
        real: {
          ...HostConfig.parse({
            address: '127.0.0.1',
            port: sshd.port,
            privateKey: sshd.clientKey.privateKey,
            hostKey: sshd.hostKeyFingerprint,
          }),
          ...host,
        } as HostConfig,
      },
      defaults: SshDefaults.parse({ commandTimeoutMs: 8000 }),
      logger: quietLogger,
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

  it('runs the fake xl and parses `xl list -v` (the sample with the UUID columns xl_info.c prints) through the driver', async () => {
    teachXlListV(sshd);
    const ts = new XenToolstack('xl', pool(), {
      name: 'real',
      configDirs: ['/nonexistent-xen-dir'],
      consoleLogDir: '/var/log/xen/console',
      shutdownTimeoutSeconds: 5,
    });
    const domains = await ts.list();
    expect(domains.map((d) => [d.name, d.id, d.status, d.uuid])).toEqual([
      ['Domain-0', 0, 'running', FAKE_XL_UUIDS[0]],
      ['guest-01', 4, 'blocked', FAKE_XL_UUIDS[1]],
    ]);
    expect(readArgv(sshd)).toEqual(['list', '-v']);
  });

  it('delivers hostile arguments as single literal argv elements and runs nothing else', async () => {
    const marker = `${sshd.dir}/pwned`;
    const hostile = ['web; reboot', "a'b", `$(touch ${marker})`, '`id`', 'two words', '*', ''];
    const r = await pool().run('real', ['xl', 'list', ...hostile]);
    expect(r.code).toBe(1);
    expect(readArgv(sshd)).toEqual(['list', ...hostile]);
    expect(existsSync(marker)).toBe(false);
  });

  it('rejects a chat domain like "web; reboot" before any SSH traffic', async () => {
    const ts = new XenToolstack('xl', pool(), {
      name: 'real',
      configDirs: ['/etc/xen/vm'],
      consoleLogDir: '/var/log/xen/console',
      shutdownTimeoutSeconds: 5,
    });
    const before = readArgv(sshd);
    await expect(ts.stop('web; reboot', { force: true })).rejects.toBeInstanceOf(UserError);
    expect(readArgv(sshd)).toEqual(before);
  });

  it('pins the host key: the wrong pin is refused, naming the fingerprint ssh-keygen prints', async () => {
    const wrong = `SHA256:${'Z'.repeat(43)}`;
    const err = await pool({ hostKey: wrong })
      .run('real', ['xl', 'list'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    const presented = execFileSync('ssh-keygen', ['-lf', `${sshd.dir}/ssh_host_ed25519_key.pub`])
      .toString()
      .split(' ')[1];
    expect((err as HostKeyError).presented).toBe(presented);
    expect((err as HostKeyError).message).toContain(wrong);
    expect((err as HostKeyError).message).toContain('real');
  });

  it('reports a connection dropped mid-command as an unknown outcome', async () => {
    const p = pool();
    expect((await p.run('real', ['true'])).code).toBe(0);
    const running = p.run('real', ['xl', 'sleep']).catch((e: unknown) => e);
    // The per-connection sshd processes are children of the listener: kill them, not the listener.
    await expect.poll(() => readArgvSafe(), { timeout: 5000 }).toEqual(['sleep']);
    execFileSync('pkill', ['-KILL', '-P', String(sshd.pid)]);
    expect(await running).toBeInstanceOf(OutcomeUnknownError);
    expect((await p.run('real', ['true'])).code).toBe(0);
  });

  function readArgvSafe(): string[] {
    try {
      return readArgv(sshd);
    } catch {
      return [];
    }
  }
});

describe.skipIf(!sshdAvailable)('command sessions and sshd MaxSessions', () => {
  it('closes an idle command session before an exec channel would go past MaxSessions', async () => {
    // maxConcurrent 2 and the sampler's stream: 3 channels at most, as maxConcurrent 9 is against sshd's default 10.
    const sshd = await startRealSshd(fixture('xl-list__uva-sne-xen-4.9.2.txt'), { maxSessions: 3 });
    const p = new SshPool({
      hosts: {
        real: HostConfig.parse({
          address: '127.0.0.1',
          port: sshd.port,
          privateKey: sshd.clientKey.privateKey,
          hostKey: sshd.hostKeyFingerprint,
        }),
      },
      defaults: SshDefaults.parse({ maxConcurrent: 2, commandTimeoutMs: 8000 }),
      logger: quietLogger,
    });
    const stop = new AbortController();
    try {
      // Two commands at once: two command sessions, both idle once they are done.
      const both = await Promise.all([p.run('real', ['sleep', '0.3']), p.run('real', ['sleep', '0.3'])]);
      expect(both.map((r) => r.code)).toEqual([0, 0]);
      // A stream, as the sampler keeps one: the third channel, outside the command slots.
      let up: () => void = () => {};
      const started = new Promise<void>((resolve) => {
        up = resolve;
      });
      const streaming = p.stream('real', ['sh', '-c', 'echo up; exec sleep 30'], { signal: stop.signal, onStdout: () => up() });
      await started;
      // Commands that cannot travel in a session (a newline in an argument) need exec channels: two more, which sshd
      // refuses unless the idle sessions are closed first — and the second to come must wait for the first's closes.
      const both2 = await Promise.all([p.run('real', ['printf', '%s', 'two\nlines']), p.run('real', ['printf', '%s', 'and\nmore'])]);
      expect(both2).toEqual([
        { code: 0, stdout: 'two\nlines', stderr: '' },
        { code: 0, stdout: 'and\nmore', stderr: '' },
      ]);
      // Sessions still serve what fits them, and the stream was never touched.
      expect((await p.run('real', ['xl', 'list'])).stdout).toContain('Domain-0');
      stop.abort();
      expect(await streaming).toEqual({ code: null });
    } finally {
      stop.abort();
      await p.close();
      await sshd.stop();
    }
  });
  it('a session command that timed out keeps its channel on sshd: the next command gets a connection of its own', async () => {
    // MaxSessions 2: the sampler's stream and one command channel. The shell waiting on the hung command keeps the
    // second (sshd ignores signals for root logins), so on the same connection the next command would be refused,
    // and dropping that connection would cut the stream.
    const sshd = await startRealSshd(fixture('xl-list__uva-sne-xen-4.9.2.txt'), { maxSessions: 2 });
    const p = new SshPool({
      hosts: {
        real: HostConfig.parse({
          address: '127.0.0.1',
          port: sshd.port,
          privateKey: sshd.clientKey.privateKey,
          hostKey: sshd.hostKeyFingerprint,
        }),
      },
      defaults: SshDefaults.parse({ maxConcurrent: 1, commandTimeoutMs: 8000 }),
      logger: quietLogger,
    });
    const stop = new AbortController();
    try {
      let ticks = 0;
      const streaming = p.stream('real', ['sh', '-c', 'while :; do echo tick; sleep 0.1; done'], {
        signal: stop.signal,
        onStdout: (text) => (ticks += text.split('tick').length - 1),
      });
      // The pool's first use: an SSH connection to the real sshd (key exchange, login) before the first tick.
      await expect.poll(() => ticks, { timeout: 10_000 }).toBeGreaterThan(0);
      // The fake xl's `sleep` takes 10 s.
      await expect(p.run('real', ['xl', 'sleep'], { timeoutMs: 500 })).rejects.toBeInstanceOf(CommandTimeoutError);
      expect((await p.run('real', ['xl', 'list'])).stdout).toContain('Domain-0');
      // The stream still runs.
      const seen = ticks;
      await expect.poll(() => ticks, { timeout: 5_000 }).toBeGreaterThan(seen + 2);
      stop.abort();
      expect(await streaming).toEqual({ code: null });
      expect(p.isConnected('real')).toBe(true);
    } finally {
      stop.abort();
      await p.close();
      await sshd.stop();
    }
  });
});
