import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { OutcomeUnknownError, TransportError } from '../../core/errors.ts';

/**
 * The agent's own SSH key, missing, unreadable or locked with another passphrase than the config's: the operator who
 * starts the agent is told at once, by path, rather than each chat user at their first command as an unreachable host
 * ("cannot connect to xen1 (10.0.0.1:22): Cannot parse privateKey: …", ssh2's words for a problem on this machine).
 * The passphrase is never repeated.
 */
const PASSPHRASE = 'right-passphrase-4711';
const WRONG = 'wrong-passphrase-0815';
const dir = mkdtempSync(join(tmpdir(), 'xenops-keys-'));
const encrypted = join(dir, 'xenops_rsa');
writeFileSync(
  encrypted,
  generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'pkcs1', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: PASSPHRASE },
  }).privateKey,
  { mode: 0o600 },
);
const missing = join(dir, 'not-there');

describe('a private key the agent cannot use', () => {
  let env: SimEnv;
  beforeAll(async () => {
    env = await startSimEnv();
  });
  afterAll(async () => {
    await env.stop();
  });

  it.each([
    [
      'a wrong passphrase',
      { privateKeyPath: encrypted, passphrase: WRONG },
      'cannot decrypt the private key file of xen1 (hosts.xen1.privateKeyPath) with hosts.xen1.passphrase (a wrong passphrase?)',
    ],
    [
      'no passphrase for an encrypted key',
      { privateKeyPath: encrypted },
      'the private key file of xen1 (hosts.xen1.privateKeyPath) is encrypted, and hosts.xen1.passphrase is not set',
    ],
    [
      'a missing file',
      { privateKeyPath: missing },
      'cannot read the private key file of xen1 (hosts.xen1.privateKeyPath) (ENOENT: no such file or directory)',
    ],
  ])('fails a command with %s as a problem of the key, nothing sent', async (_, key, message) => {
    const pool = env.pool({ xen1: { privateKey: undefined, ...key } });
    const since = env.sim.log.lastSeq;
    const err = await pool.run('xen1', ['xl', 'list']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).not.toBeInstanceOf(OutcomeUnknownError);
    expect((err as Error).message).toBe(message);
    expect(env.sim.log.query({ host: 'xen1', since })).toEqual([]);
  });

  it('is logged at the agent’s start-up for every served host, naming the key file, never the passphrase', async () => {
    const unreadable = join(dir, 'unreadable');
    writeFileSync(unreadable, 'x');
    chmodSync(unreadable, 0o000);
    // root reads any file: the unreadable one is left out then.
    const asRoot = process.getuid?.() === 0;
    const config = join(dir, 'xenops.yaml');
    // A real-looking pin: a placeholder is a config error the agent now refuses to start on.
    const pin = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
    writeFileSync(
      config,
      [
        // Nothing listens there: what is said of the keys comes before the wait for Redis.
        'redis: { url: "redis://127.0.0.1:1" }',
        'hosts:',
        `  xen1: { address: 127.0.0.1, privateKeyPath: ${JSON.stringify(missing)}, hostKey: "${pin}" }`,
        `  xen2: { address: 127.0.0.1, privateKeyPath: ${JSON.stringify(encrypted)}, passphrase: "\${KEY_PASSPHRASE}", hostKey: "${pin}" }`,
        `  xen3: { address: 127.0.0.1, privateKeyPath: ${JSON.stringify(encrypted)}, hostKey: "${pin}" }`,
        `  xen4: { address: 127.0.0.1, privateKeyPath: ${JSON.stringify(encrypted)}, passphrase: "${PASSPHRASE}", hostKey: "${pin}" }`,
        `  xen5: { address: 127.0.0.1, privateKeyPath: ${JSON.stringify(unreadable)}, hostKey: "${pin}" }`,
        // Served by another agent: its key is not on this machine.
        `  xen6: { address: 127.0.0.1, privateKeyPath: /nowhere/else, hostKey: "${pin}" }`,
        `agent: { hosts: [xen1, xen2, xen3, xen4${asRoot ? '' : ', xen5'}] }`,
        '',
      ].join('\n'),
    );
    const agent = spawn(process.execPath, [join(import.meta.dirname, '..', '..', '..', 'bin', 'xenops.js'), 'agent', '-c', config], {
      env: { ...process.env, KEY_PASSPHRASE: WRONG, XENOPS_LOG_LEVEL: 'info' },
    });
    let stderr = '';
    agent.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    try {
      // The wait for Redis is said once the keys were read.
      await expect.poll(() => stderr, { timeout: 20_000 }).toContain('waiting for Redis');
    } finally {
      agent.kill('SIGKILL');
    }
    const errors = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 50 && !l.msg.startsWith('waiting for Redis'))
      .map((l) => l.msg);
    const fails = ': commands for that host will fail until it is fixed';
    expect(errors).toEqual([
      `cannot read the private key file ${missing} of xen1 (ENOENT: no such file or directory)${fails}`,
      `cannot decrypt the private key file ${encrypted} of xen2 with hosts.xen2.passphrase (a wrong passphrase?)${fails}`,
      `the private key file ${encrypted} of xen3 is encrypted, and hosts.xen3.passphrase is not set${fails}`,
      ...(asRoot ? [] : [`cannot read the private key file ${unreadable} of xen5 (EACCES: permission denied)${fails}`]),
    ]);
    expect(stderr).not.toContain(WRONG);
    expect(stderr).not.toContain(PASSPHRASE);
  }, 30_000);
});
