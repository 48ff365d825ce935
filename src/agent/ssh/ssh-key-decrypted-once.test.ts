import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';

/**
 * An OpenSSH key under a passphrase is decrypted by bcrypt_pbkdf: on the event loop, a fifth of a second at
 * ssh-keygen's default 16 rounds, as long as the rounds say. A new connection decrypted it twice — once to check it
 * (so a key this machine cannot use is said to be that), once more in ssh2 from the same text and passphrase — which
 * held the agent's heartbeats, lock renewals and every other host's output for as long, at each (re)connect.
 */
const PASSPHRASE = 'decrypt-me-once-4711';
const dir = mkdtempSync(join(tmpdir(), 'xenops-key-once-'));
const keyFile = join(dir, 'id_ed25519');

/** The CPU time (user + system, all threads) `f` takes, in ms. */
async function cpuMs(f: () => unknown): Promise<number> {
  const start = process.cpuUsage();
  await f();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

describe('an encrypted private key', () => {
  let env: SimEnv;
  beforeAll(async () => {
    env = await startSimEnv();
    // The simulator's client key, put under a passphrase by ssh-keygen (OpenSSH's format, 32 rounds).
    writeFileSync(keyFile, env.clientKey.privateKey, { mode: 0o600 });
    execFileSync('ssh-keygen', ['-q', '-p', '-N', PASSPHRASE, '-a', '32', '-f', keyFile]);
  });
  afterAll(async () => {
    await env?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is decrypted once per new connection, not twice', async () => {
    const text = readFileSync(keyFile, 'utf8');
    expect(ssh2.utils.parseKey(text)).toBeInstanceOf(Error);
    // The least of a few: what one decryption costs on this machine now.
    const once = Math.min(...(await Promise.all([0, 1, 2].map(() => cpuMs(() => ssh2.utils.parseKey(text, PASSPHRASE))))));
    const pool = env.pool({ xen1: { privateKey: undefined, privateKeyPath: keyFile, passphrase: PASSPHRASE } });
    const first = await cpuMs(() => pool.run('xen1', ['xl', 'list']));
    // Another connection (the first one closed), as after a host's reboot.
    await pool.close();
    const again = env.pool({ xen1: { privateKey: undefined, privateKeyPath: keyFile, passphrase: PASSPHRASE } });
    const second = await cpuMs(() => again.run('xen1', ['xl', 'list']));
    // The handshake and the command cost a few ms besides: far less than a second decryption.
    expect(Math.min(first, second)).toBeLessThan(1.5 * once);
    expect(Math.min(first, second)).toBeGreaterThan(0.8 * once);
  });
});
