import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/app/ensure-redis.ts';
import { generateClientKey } from '../../src/sim/index.ts';
import { fixture } from './fixtures.ts';

export const SSHD = '/usr/sbin/sshd';
export const sshdAvailable = existsSync(SSHD);

export interface RealSshd {
  port: number;
  dir: string;
  /** As `ssh-keygen -lf` prints it for the host key. */
  hostKeyFingerprint: string;
  clientKey: { privateKey: string; publicKey: string };
  /** Where the fake xl writes its argv, one element per line. */
  argvFile: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * OpenSSH's sshd on a loopback port, run as a child process with its own host key and config, and a fake `xl`
 * first on the session PATH that records its argv and prints a real `xl list` sample.
 */
export async function startRealSshd(
  fixtureXlList: string,
  options: { env?: Record<string, string>; maxSessions?: number } = {},
): Promise<RealSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'xenops-sshd-'));
  const port = await freePort();
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const hostKeyFingerprint =
    execFileSync('ssh-keygen', ['-lf', `${hostKey}.pub`])
      .toString()
      .split(' ')[1] ?? '';
  const clientKey = generateClientKey();
  writeFileSync(join(dir, 'authorized_keys'), `${clientKey.publicKey}\n`, { mode: 0o600 });
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const argvFile = join(dir, 'xl-argv');
  writeFileSync(join(dir, 'xl-list.txt'), fixtureXlList);
  writeFileSync(
    join(bin, 'xl'),
    [
      '#!/bin/sh',
      `printf '%s\\n' "$@" > '${argvFile}'`,
      `if [ "$1" = list ] && [ $# -eq 1 ]; then cat '${join(dir, 'xl-list.txt')}'; exit 0; fi`,
      'if [ "$1" = sleep ]; then sleep 10; exit 0; fi',
      'echo "$2 is an invalid domain identifier (rc=-6)" >&2',
      'exit 1',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1`,
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `MaxSessions ${options.maxSessions ?? 10}`,
      // One SetEnv line: sshd takes the first value it reads for a keyword.
      `SetEnv PATH=${bin}:/usr/local/bin:/usr/bin:/bin${Object.entries(options.env ?? {})
        .map(([k, v]) => ` ${k}=${v}`)
        .join('')}`,
      '',
    ].join('\n'),
  );
  // sshd refuses to start without its privilege-separation directory.
  mkdirSync('/run/sshd', { recursive: true });
  execFileSync(SSHD, ['-t', '-f', config]);
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  await waitForPort(port, child, () => stderr);
  return {
    port,
    dir,
    hostKeyFingerprint,
    clientKey,
    argvFile,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited: ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}: ${stderr()}`);
}

export function readArgv(sshd: RealSshd): string[] {
  return readFileSync(sshd.argvFile, 'utf8').replace(/\n$/, '').split('\n');
}

/**
 * The fake xl answers plain `xl list`; the driver asks `xl list -v`: teach it the same sample with the UUID columns
 * as xl_info.c prints them (" " UUID, " %8s" "-" not shut down, " %16s" "-" no XSM label).
 */
/** The UUIDs teachXlListV gives the sample's rows (Domain-0's, then the guest's). */
export const FAKE_XL_UUIDS = ['00000000-0000-0000-0000-000000000000', '5b2f39a4-7c1e-4d3a-9f00-0a1b2c3d4e5f'];

export function teachXlListV(sshd: RealSshd): void {
  const [header, ...rows] = fixture('xl-list__uva-sne-xen-4.9.2.txt').trimEnd().split('\n');
  const verbose = [
    `${header}   UUID                            Reason-Code\tSecurity Label`,
    ...rows.map((r, i) => `${r} ${FAKE_XL_UUIDS[i] ?? FAKE_XL_UUIDS[1]} ${'-'.padStart(8)} ${'-'.padStart(16)}`),
    '',
  ].join('\n');
  writeFileSync(join(sshd.dir, 'xl-list-v.txt'), verbose);
  const xl = join(sshd.dir, 'bin', 'xl');
  const [shebang, record, ...rest] = readFileSync(xl, 'utf8').split('\n');
  writeFileSync(
    xl,
    [
      shebang,
      record,
      `if [ "$1" = list ] && [ "$2" = -v ] && [ $# -eq 2 ]; then cat '${join(sshd.dir, 'xl-list-v.txt')}'; exit 0; fi`,
      ...rest,
    ].join('\n'),
  );
}
