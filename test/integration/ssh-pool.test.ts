import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshPool } from '../../src/agent/ssh/pool.ts';
import { HostKeyError, OutcomeUnknownError, TransportError } from '../../src/core/errors.ts';
import { consoleLogPath } from '../../src/sim/model.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';

let env: SimEnv;
beforeAll(async () => {
  env = await startSimEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('SshPool against the simulator', () => {
  it('connects with the pinned key and runs argv exactly as given', async () => {
    const pool = env.pool();
    const r = await pool.run('xen1', ['xl', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('Name                                        ID   Mem VCPUs\tState\tTime(s)');
    expect(env.sim.hosts['xen1']?.commandLog.at(-1)).toBe('xl list');
  });

  it('quotes every argument: shell syntax from chat arrives as one literal word', async () => {
    const pool = env.pool();
    const before = env.sim.hosts['xen1']?.commandLog.length ?? 0;
    const r = await pool.run('xen1', ['xl', 'list', "web; reboot $(id) `x` 'q'"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("web; reboot $(id) `x` 'q' is an invalid domain identifier");
    expect(env.sim.hosts['xen1']?.commandLog.slice(before)).toEqual([`xl list 'web; reboot $(id) \`x\` '\\''q'\\'''`]);
  });

  it('refuses a host key that does not match the pin, naming host, expected and presented, before any command', async () => {
    const wrong = `SHA256:${'A'.repeat(43)}`;
    const pool = env.pool({ xen2: { hostKey: wrong } });
    const before = env.sim.hosts['xen2']?.commandLog.length ?? 0;
    const err = await pool.run('xen2', ['xl', 'list']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).message).toContain('xen2');
    expect((err as HostKeyError).message).toContain(wrong);
    expect((err as HostKeyError).presented).toBe(env.sim.hosts['xen2']?.hostKeyFingerprint);
    expect(env.sim.hosts['xen2']?.commandLog.length).toBe(before);
  });

  it('refuses a host with no pin, and accepts any key only with the loud dev override', async () => {
    const noPin = env.pool({ xen2: { hostKey: undefined } });
    await expect(noPin.run('xen2', ['true'])).rejects.toThrow(/no host key fingerprint is pinned/);
    const dev = env.pool({ xen2: { hostKey: undefined, dangerouslyAcceptAnyHostKey: true } });
    expect((await dev.run('xen2', ['true'])).code).toBe(0);
  });

  it('notices when the server starts presenting another host key', async () => {
    await env.sim.faults.presentAnotherHostKey('xen2', true);
    try {
      const pool = env.pool();
      await expect(pool.run('xen2', ['true'])).rejects.toBeInstanceOf(HostKeyError);
    } finally {
      await env.sim.faults.presentAnotherHostKey('xen2', false);
    }
  });

  it('caps concurrent commands per host', async () => {
    const pool = env.pool({}, { maxConcurrent: 2 });
    await pool.run('xen1', ['true']);
    const controller = new AbortController();
    for (let i = 0; i < 5; i++) env.sim.faults.hangNext('xen1', /^sleepy$/);
    const runs = Array.from({ length: 5 }, () => pool.run('xen1', ['sleepy'], { signal: controller.signal }).catch((e: unknown) => e));
    await expect.poll(() => pool.stats()['xen1']?.queued).toBe(3);
    expect(pool.stats()['xen1']?.active).toBe(2);
    await expect.poll(() => env.sim.faults.activity('xen1').active).toBe(2);
    controller.abort();
    const results = await Promise.all(runs);
    expect(results.every((r) => r instanceof OutcomeUnknownError || r instanceof Error)).toBe(true);
    expect(env.sim.faults.activity('xen1').maxActive).toBe(2);
    env.sim.faults.clear();
  });

  it('times a hung command out as an unknown outcome', async () => {
    const pool = env.pool();
    env.sim.faults.hangNext('xen1', /hang-me/);
    const err = await pool.run('xen1', ['hang-me'], { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect(String(err)).toMatch(/did not finish within/);
    expect((await pool.run('xen1', ['true'])).code).toBe(0);
  });

  it('reports a connection dropped mid-command as an unknown outcome, then reconnects', async () => {
    const pool = env.pool();
    expect((await pool.run('xen1', ['true'])).code).toBe(0);
    env.sim.faults.dropNext('xen1', { match: /drop-me/ });
    const err = await pool.run('xen1', ['drop-me']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect((await pool.run('xen1', ['true'])).code).toBe(0);
  });

  it('survives a late connection reset while idle (no crash) and reconnects on next use', async () => {
    const pool = env.pool();
    expect((await pool.run('xen2', ['true'])).code).toBe(0);
    expect(pool.stats()['xen2']?.connected).toBe(true);
    expect(pool.isConnected('xen2')).toBe(true);
    env.sim.faults.dropConnections('xen2');
    await expect.poll(() => pool.stats()['xen2']?.connected).toBe(false);
    expect(pool.isConnected('xen2')).toBe(false);
    expect((await pool.run('xen2', ['true'])).code).toBe(0);
    expect(pool.isConnected('xen2')).toBe(true);
  });

  it('gives a transport error that names the host when nothing listens', async () => {
    const pool = env.pool({ xen2: { port: 1 } });
    const err = await pool.run('xen2', ['true']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).not.toBeInstanceOf(OutcomeUnknownError);
    expect(String(err)).toContain('cannot connect to xen2');
    expect(String(err)).not.toContain('PRIVATE KEY');
  });

  it('decodes output whole on the exec path: a character cut by an SSH packet’s end stays one character', async () => {
    const pool = new SshPool({ hosts: env.hosts, defaults: env.ssh, logger: quietLogger, sessions: false });
    try {
      // ~120 KB of box drawing and accents (systemd, localized guests): several packets, cut inside characters.
      const line = `${'─'.repeat(60)} café ünïcode ${'€'.repeat(40)}`;
      const content = `${Array.from({ length: 600 }, () => line).join('\n')}\n`;
      const path = consoleLogPath('utf8-probe');
      env.sim.fleet.hosts.get('xen1')?.files.set(path, content);
      const streamed: string[] = [];
      const r = await pool.run('xen1', ['tail', '-n', '2000', path], { onStdout: (text) => streamed.push(text) });
      expect(r).toEqual({ code: 0, stdout: content, stderr: '' });
      expect(streamed.join('')).toBe(content);
      expect(streamed.some((text) => text.includes('\uFFFD'))).toBe(false);
    } finally {
      await pool.close();
    }
  });

  it.each([
    ['a command session', true],
    ['an exec channel', false],
  ])('fails an answer larger than the limit through %s, saying so, and keeps the connection', async (_, sessions) => {
    const pool = new SshPool({ hosts: env.hosts, defaults: env.ssh, logger: quietLogger, sessions, maxOutputBytes: 1024 * 1024 });
    try {
      const path = consoleLogPath('too-large');
      env.sim.fleet.hosts.get('xen2')?.files.set(path, `${'x'.repeat(2 * 1024 * 1024)}\n`);
      await pool.run('xen2', ['true']);
      const err = await pool.run('xen2', ['tail', '-n', '20', path]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutcomeUnknownError);
      expect((err as Error).message).toBe(
        'the output of tail on xen2 was larger than 1 MiB, the most xenops reads; it was not read to its end, so its outcome is unknown',
      );
      expect(pool.isConnected('xen2')).toBe(true);
      // Just under the limit is read whole.
      env.sim.fleet.hosts.get('xen2')?.files.set(path, `${'y'.repeat(1000 * 1024)}\n`);
      expect((await pool.run('xen2', ['tail', '-n', '20', path])).stdout).toHaveLength(1000 * 1024 + 1);
    } finally {
      await pool.close();
    }
  });

  it('prefixes sudo -n when the host says so', async () => {
    const pool = env.pool({ xen1: { sudo: true } });
    expect((await pool.run('xen1', ['xl', 'list'])).code).toBe(0);
    expect(env.sim.hosts['xen1']?.commandLog.at(-1)).toBe('sudo -n -- xl list');
  });
});
