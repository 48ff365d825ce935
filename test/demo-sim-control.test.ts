import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimControlClient } from '../src/sim/control-client.ts';
import { LineStream } from './helpers/processes.ts';
import { freePort } from './helpers/redis-server.ts';

/**
 * `xenops demo` as an operator runs it, from the repository (it reads config/demo.yaml there): it serves the
 * simulator's control interface and says where once on stderr, so a host can be taken down while chatting.
 */
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'xenops.js');
const ANNOUNCED =
  /^xenops demo: simulator control on (http:\/\/127\.0\.0\.1:(\d+)) \(try: curl -X POST \1\/hosts\/xen2\/down; README: Simulator control\)$/;

/** The environment without anything that would change what the demo does (a stray config, real tokens). */
function cleanEnv(logFile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(XENOPS_|DISCORD_|TELEGRAM_)/.test(k)) env[k] = v;
  return { ...env, XENOPS_LOG_FILE: logFile };
}

let child: ChildProcessWithoutNullStreams | null = null;
const logDir = mkdtempSync(join(tmpdir(), 'xenops-demo-control-'));
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = null;
});
process.once('exit', () => rmSync(logDir, { recursive: true, force: true }));

describe('xenops demo: the simulator control interface', () => {
  it('is announced once on stderr, lists the demo hosts, and a host taken down through it is alerted on the terminal', async () => {
    const proc = spawn(process.execPath, [BIN, 'demo'], { cwd: ROOT, env: cleanEnv(join(logDir, 'demo.log')), stdio: 'pipe' });
    child = proc;
    const stdout = new LineStream();
    const stderr = new LineStream();
    proc.stdout.setEncoding('utf8').on('data', (c: string) => stdout.push(c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => stderr.push(c));
    const exited = new Promise<number | null>((resolve) =>
      proc.once('close', (code) => {
        stdout.end();
        stderr.end();
        resolve(code);
      }),
    );
    const describeOutput = () => `stdout:\n${stdout.lines.join('\n')}\nstderr:\n${stderr.lines.join('\n')}`;

    const { match } = await stderr.waitForLine(ANNOUNCED, 20_000, { describe: describeOutput });
    const url = match[1] as string;
    const control = new SimControlClient(url);
    expect(Object.keys((await control.state()).hosts).sort()).toEqual(['xen1', 'xen2']);

    expect(await control.hostDown('xen2')).toMatchObject({ host: 'xen2', down: true });
    // The demo's alert channel is the terminal: its sampler (every 2 s) finds xen2 gone and the bot says so there.
    const { index } = await stdout.waitForLine(/^✖ xen2 is unreachable$/, 15_000, { describe: describeOutput });
    expect(stdout.lines[index + 1]).toMatch(/^The agent cannot reach xen2: .*ECONNREFUSED/);
    expect(stdout.lines.some((l) => l.includes('xen1 is unreachable'))).toBe(false);

    proc.stdin.end();
    expect(await exited).toBe(0);
    // Said once, on stderr only: the chat on stdout is untouched.
    expect(stderr.lines.filter((l) => ANNOUNCED.test(l))).toHaveLength(1);
    expect(stdout.lines.some((l) => l.includes('simulator control'))).toBe(false);
    // The port is closed with the demo.
    await expect(fetch(`${url}/state`)).rejects.toThrow();
  }, 45_000);

  it('on a piped script (the README quick start) with --sim-control-port N: that port, said on stderr; replies and exit as before', async () => {
    const port = await freePort();
    const r = spawnSync(process.execPath, [BIN, 'demo', '--sim-control-port', String(port)], {
      cwd: ROOT,
      input: '/list xen1\n',
      encoding: 'utf8',
      timeout: 30_000,
      env: cleanEnv(join(logDir, 'piped.log')),
    });
    const said = r.stderr.split('\n').filter((l) => ANNOUNCED.test(l));
    expect(said).toEqual([
      `xenops demo: simulator control on http://127.0.0.1:${port} (try: curl -X POST http://127.0.0.1:${port}/hosts/xen2/down; README: Simulator control)`,
    ]);
    expect(r.stdout).toContain('✔ Domains on xen1');
    expect(r.stdout).not.toContain('simulator control');
    expect(r.status).toBe(0);
  }, 35_000);

  it('--sim-control-port takes a port number; anything else is bad usage (exit 2) before anything starts', () => {
    const r = spawnSync(process.execPath, [BIN, 'demo', '--sim-control-port', 'x'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: option '--sim-control-port <port>' argument 'x' is invalid. expected a port number (0-65535)");
    const help = spawnSync(process.execPath, [BIN, 'demo', '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(help.stdout).toMatch(/--sim-control-port <port>\s+simulator control interface/);
  });
});
