import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { opsUrlOf, ProcessHarness } from './helpers/processes.ts';
import { freePort, type PrivateRedis, startPrivateRedis } from './helpers/redis-server.ts';

/**
 * The real CLI, as an operator runs it: `xenops --version`, a bot with no chat token that stays up (not ready, saying
 * why) and stops on SIGTERM, an agent serving its ops endpoints. Each process gets its own Redis prefix and temp dir.
 */
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'xenops.js');

/** The environment without anything that would change what the processes do (a stray config, real tokens). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(XENOPS_|DISCORD_|TELEGRAM_)/.test(k)) env[k] = v;
  return { ...env, XENOPS_LOG_LEVEL: 'info', ...extra };
}

/** A minimal config in the harness's run dir: one host nobody can reach (SSH is only tried on use). */
function writeConfig(h: ProcessHarness, extra: readonly string[] = []): string {
  const path = join(h.runDir, 'xenops.yaml');
  writeFileSync(
    path,
    [
      'redis:',
      `  url: ${h.redisUrl}`,
      `  prefix: "${h.prefix}"`,
      'hosts:',
      '  xen1: { address: 127.0.0.1, port: 1, privateKeyPath: no-such-key, hostKey: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s" }',
      'audit: { file: var/audit.jsonl }',
      'sampling: { enabled: true, intervalSeconds: 1 }',
      ...extra,
      '',
    ].join('\n'),
  );
  return path;
}

let harness: ProcessHarness | null = null;
let privateRedis: PrivateRedis | null = null;
afterEach(async () => {
  await harness?.stopAll();
  await privateRedis?.stop();
  privateRedis = null;
  harness = null;
});

describe('xenops --version', () => {
  it("prints package.json's version and exits 0", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8', cwd: ROOT });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('a bot with no chat token', () => {
  it('without --available, --discord with no token exits 1 saying which token is missing', async () => {
    harness = new ProcessHarness();
    const bot = harness.spawn('bot', ['bot', '--discord', '-c', writeConfig(harness)], cleanEnv());
    expect(await bot.exited).toEqual({ code: 1, signal: null });
    expect(bot.stderr.lines).toContain('xenops bot: Discord needs a token: discord.token in the config or DISCORD_TOKEN');
  });

  it('one whose chat platform cannot be reached at start exits 1, saying why, rather than staying up serving nothing', async () => {
    harness = new ProcessHarness();
    const closed = await freePort();
    const bot = harness.spawn(
      'bot',
      ['bot', '--discord', '-c', writeConfig(harness)],
      cleanEnv({ DISCORD_TOKEN: 'MTAwMDAwMDAwMDAwMDAwMDQy.start.fails', DISCORD_API_ROOT: `http://127.0.0.1:${closed}/api` }),
    );
    expect(await bot.exited).toEqual({ code: 1, signal: null });
    const said = bot.stderr.lines.filter((l) => l.includes('"msg":"bot could not start; exiting"'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`ECONNREFUSED 127.0.0.1:${closed}`);
    // Its first leader term (HA is on by default) could not begin; nothing else is said at error or warn level: no
    // stray error, no lease it "could not release" (given up already).
    expect(bot.stderr.lines.filter((l) => /"level":(40|50)/.test(l) && !l.includes('bot could not start'))).toEqual([
      expect.stringContaining('could not start as the leader: giving the lease up'),
    ]);
    expect(bot.stderr.lines.filter((l) => /uncaught exception|unhandled rejection|Unhandled error event/.test(l))).toEqual([]);
  });

  it('without HA too: a chat platform that cannot be reached at start ends it with 1, saying why', async () => {
    harness = new ProcessHarness();
    const closed = await freePort();
    const bot = harness.spawn(
      'bot',
      ['bot', '--discord', '-c', writeConfig(harness, ['bot: { ha: { enabled: false } }'])],
      cleanEnv({ DISCORD_TOKEN: 'MTAwMDAwMDAwMDAwMDAwMDQy.start.fails', DISCORD_API_ROOT: `http://127.0.0.1:${closed}/api` }),
    );
    expect(await bot.exited).toEqual({ code: 1, signal: null });
    // No leader term here: the adapter's own start is what failed, and that is the one thing said at error or warn level.
    const loud = bot.stderr.lines.filter((l) => /"level":(40|50)/.test(l));
    expect(loud).toHaveLength(1);
    expect(loud[0]).toContain('"msg":"bot could not start; exiting"');
    expect(loud[0]).toContain(`ECONNREFUSED 127.0.0.1:${closed}`);
    expect(bot.stderr.lines.some((l) => l.includes('leader'))).toBe(false);
  });

  it('with --available stays up, alive but not ready, saying why in its log and /readyz; SIGTERM stops it', async () => {
    harness = new ProcessHarness();
    const bot = harness.spawn(
      'bot',
      ['bot', '--available', '--discord', '--telegram', '--http-port', '0', '-c', writeConfig(harness)],
      cleanEnv(),
    );
    const url = await opsUrlOf(bot, 'stderr');
    await bot.waitForLine(/"msg":"bot started"/, 30_000, { stream: 'stderr' });
    expect(bot.stderr.lines.some((l) => l.includes('"msg":"discord skipped: no token: set discord.token or DISCORD_TOKEN"'))).toBe(true);
    expect(bot.stderr.lines.some((l) => l.includes('"msg":"telegram skipped: no token: set telegram.token or TELEGRAM_BOT_TOKEN"'))).toBe(
      true,
    );
    expect(bot.stderr.lines.some((l) => l.includes('no chat platform has a token: the bot stays up but not ready'))).toBe(true);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { failing: string[]; checks: { name: string; detail: string }[] };
    expect(body.failing).toContain('adapters');
    expect(body.checks.find((c) => c.name === 'adapters')?.detail).toBe(
      'no chat platform is running; discord skipped (no token: set discord.token or DISCORD_TOKEN); telegram skipped (no token: set telegram.token or TELEGRAM_BOT_TOKEN)',
    );
    expect(body.checks.find((c) => c.name === 'redis')).toMatchObject({ ok: true });
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('# TYPE xenops_commands_total counter');
    // Still running after answering all that: no exit, no crash loop.
    expect(bot.done).toBe(false);

    const t0 = Date.now();
    bot.kill('SIGTERM');
    expect(await bot.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe('the demo as docker compose runs it (demo --available --discord --telegram)', () => {
  it('with no token it skips both platforms, saying so, and chats on the terminal', () => {
    const logDir = mkdtempSync(join(tmpdir(), 'xenops-demo-'));
    const r = spawnSync(process.execPath, [BIN, 'demo', '--available', '--discord', '--telegram'], {
      cwd: ROOT,
      input: '/list xen1\n',
      encoding: 'utf8',
      timeout: 60_000,
      env: cleanEnv({ XENOPS_LOG_FILE: join(logDir, 'demo.log') }),
    });
    rmSync(logDir, { recursive: true, force: true });
    expect(r.stderr).toContain('xenops demo: discord skipped (no token: set discord.token or DISCORD_TOKEN)');
    expect(r.stderr).toContain('xenops demo: telegram skipped (no token: set telegram.token or TELEGRAM_BOT_TOKEN)');
    expect(r.stdout).toContain('✔ Domains on xen1');
    expect(r.status).toBe(0);
  });
});

describe('an agent with --http-port', () => {
  it('is ready with its workers and Redis, and counts the SSH connects it could not make', async () => {
    harness = new ProcessHarness();
    const agent = harness.spawn('agent', ['agent', '--http-port', '0', '-c', writeConfig(harness)], cleanEnv());
    const url = await opsUrlOf(agent, 'stderr');
    await agent.waitForLine(/"msg":"agent started"/, 30_000, { stream: 'stderr' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: { name: string }[] }).checks.map((c) => c.name)).toEqual(['redis', 'workers']);
    // The sampler's xentop stream cannot start (no key, nothing listening): a connect failure through the metered runner.
    await agent.waitForLine(/"msg":"xentop stream could not be \(re\)started"/, 30_000, { stream: 'stderr' });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/xenops_ssh_connect_failures_total\{host="xen1",error="TransportError"\} [1-9]/);
    expect(text).toContain('xenops_ssh_connected{host="xen1"} 0');
    expect(text).toContain('process_cpu_user_seconds_total');
    agent.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
  });

  it('with --hosts, exports the SSH gauges of its own hosts only (another agent serves the rest)', async () => {
    harness = new ProcessHarness();
    const path = writeConfig(harness);
    const other =
      '  xen2: { address: 127.0.0.1, port: 1, privateKeyPath: no-such-key, hostKey: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s" }';
    writeFileSync(path, readFileSync(path, 'utf8').replace('\naudit:', `\n${other}\naudit:`));
    const agent = harness.spawn('agent', ['agent', '--http-port', '0', '--hosts', 'xen1', '-c', path], cleanEnv());
    const url = await opsUrlOf(agent, 'stderr');
    await agent.waitForLine(/"msg":"agent started"/, 30_000, { stream: 'stderr' });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain('xenops_ssh_connected{host="xen1"} 0');
    // xen2's would read 0 for good: an alert on it would fire while its own agent is connected.
    expect(text).not.toContain('host="xen2"');
    agent.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
  });
});

describe('an agent whose Redis user may not run what BullMQ needs', () => {
  it('exits 1 saying why, rather than spinning: BullMQ reads INFO on each connection, and a Redis ACL may deny it', async () => {
    privateRedis = await startPrivateRedis();
    const admin = new Redis(privateRedis.url);
    try {
      // Everything but INFO: a locked-down ACL an operator could well write.
      await admin.call('ACL', 'SETUSER', 'xenops', 'on', '>agent-secret', '~*', '&*', '+@all', '-info');
    } finally {
      admin.disconnect();
    }
    harness = new ProcessHarness({ redisUrl: privateRedis.url.replace('redis://', 'redis://xenops:agent-secret@') });
    const agent = harness.spawn('agent', ['agent', '-c', writeConfig(harness)], cleanEnv());
    // Before: every Worker's loop met the same failed connection set-up at once, without end, and never let the event
    // loop turn — no log line, no exit, SIGTERM ignored, its heap growing by ~40 MiB a second until V8 gave up.
    const exit = await Promise.race([agent.exited, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
    expect(exit).toEqual({ code: 1, signal: null });
    const said = agent.stderr.lines.filter((l) => l.includes('"msg":"agent could not start; exiting"'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain("NOPERM this user has no permissions to run the 'info' command");
    // The password is in the URL the agent was given, never in what it says.
    expect(agent.stderr.lines.join('\n')).not.toContain('agent-secret');
  });
});
