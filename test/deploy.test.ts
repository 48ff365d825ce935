import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import picomatch from 'picomatch';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type OpsServer, startOpsServer } from '../src/app/ops-http.ts';
import { AGENT_ENV, AGENT_NODE_FLAGS, BOT_NODE_FLAGS, PRODUCTION_NODE_FLAGS, productionNodeFlags } from '../src/cli/node-flags.ts';
import { loadConfig } from '../src/config/load.ts';
import { Config } from '../src/config/schema.ts';
import { createLogger } from '../src/core/log.ts';

/**
 * docker-compose.yml and the systemd units, checked without Docker or systemd running: the commands they start use
 * flags the CLI has, nothing takes the host's Redis port, healthchecks hit /healthz, the units are sandboxed.
 */
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'xenops.js');

/** Where `npm run build` puts src/cli.ts: tsconfig.build.json's outDir under its rootDir (what .ci/run builds and runs). */
const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
  compilerOptions: { outDir: string; rootDir: string };
};
const BUILT_CLI = join(build.compilerOptions.outDir, relative(build.compilerOptions.rootDir, 'src/cli.js'));

describe('the production entry point', () => {
  it('is the build of src/cli.ts, run with the production V8 flags, in the Dockerfile, the compose services and the systemd units', () => {
    expect(BUILT_CLI).toBe('dist/src/cli.js');
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    // With the production V8 flags (src/cli/node-flags.ts: the bench runs its processes with them too).
    expect(dockerfile).toContain(`ENTRYPOINT ["node", ${PRODUCTION_NODE_FLAGS.map((f) => `"${f}", `).join('')}"${BUILT_CLI}"]`);
    for (const role of ['bot', 'agent'])
      expect(readFileSync(join(ROOT, 'deploy', 'systemd', `xenops-${role}.service`), 'utf8')).toContain(
        `ExecStart=/usr/bin/node ${productionNodeFlags(role).join(' ')} /opt/xenops/${BUILT_CLI} ${role}`,
      );
    // The agent's own young-generation size: its compose service replaces the image's entry point with its flags.
    expect(AGENT_NODE_FLAGS).toContain('--max-semi-space-size=8');
    expect(service('agent').entrypoint).toEqual(['node', ...AGENT_NODE_FLAGS, BUILT_CLI]);
    // The bot's: --expose-gc, for its idle collection (src/app/idle-collector.ts), likewise.
    expect(BOT_NODE_FLAGS).toContain('--expose-gc');
    expect(service('bot').entrypoint).toEqual(['node', ...BOT_NODE_FLAGS, BUILT_CLI]);
  });

  it("starts the agent with its malloc settings where it runs: glibc reads them at start, not from the agent's code", () => {
    expect(AGENT_ENV).toEqual({ MALLOC_ARENA_MAX: '1' });
    const unitText = readFileSync(join(ROOT, 'deploy', 'systemd', 'xenops-agent.service'), 'utf8');
    for (const [name, value] of Object.entries(AGENT_ENV)) {
      expect(unitText).toMatch(new RegExp(`^Environment=${name}=${value}$`, 'm'));
      expect(service('agent').environment?.[name]).toBe(value);
    }
  });
});

interface Service {
  entrypoint?: string[];
  command?: string[];
  profiles?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stdin_open?: boolean;
  tty?: boolean;
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const service = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`no service ${name} in docker-compose.yml`);
  return s;
};

/** `xenops <sub> --help`: the flags that subcommand really has. */
const helpCache = new Map<string, string>();
function helpOf(sub: string): string {
  let text = helpCache.get(sub);
  if (text === undefined) {
    const r = spawnSync(process.execPath, [BIN, sub, '--help'], { encoding: 'utf8', cwd: ROOT });
    expect(r.status).toBe(0);
    text = r.stdout;
    helpCache.set(sub, text);
  }
  return text;
}
function expectRealCommand(argv: readonly string[]): void {
  const [sub, ...rest] = argv;
  expect(sub).toBeDefined();
  const help = helpOf(sub as string);
  for (const flag of rest.filter((a) => a.startsWith('--')))
    expect(help, `xenops ${sub} has ${flag}`).toMatch(new RegExp(`(^|[ ,])${flag}\\b`, 'm'));
}

/** The host side of a published port: "127.0.0.1:16379:6379" → 16379, "6379:6379" → 6379, "6379" → none. */
function hostPort(mapping: string): number | null {
  const parts = mapping.split(':');
  return parts.length >= 2 ? Number(parts[parts.length - 2]) : null;
}

describe('docker-compose.yml', () => {
  it('has redis, bot and agent, and the demo under its profile', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['agent', 'bot', 'demo', 'redis']);
    expect(service('demo').profiles).toEqual(['demo']);
    for (const name of ['bot', 'agent', 'redis']) expect(service(name).profiles).toBeUndefined();
  });

  it('starts commands with flags the CLI really has', () => {
    for (const name of ['bot', 'agent', 'demo']) expectRealCommand(service(name).command ?? []);
  });

  it('starts the bot with whichever platforms have a token, and gives it the tokens when set', () => {
    const bot = service('bot');
    expect(bot.command).toEqual(expect.arrayContaining(['bot', '--available', '--discord', '--telegram']));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's own ${VAR:-} substitution, not a template
    expect(bot.environment).toMatchObject({ DISCORD_TOKEN: '${DISCORD_TOKEN:-}', TELEGRAM_BOT_TOKEN: '${TELEGRAM_BOT_TOKEN:-}' });
    // The example config (what the compose setup tells you to copy) must load with no token at all.
    const loaded = loadConfig(join(ROOT, 'config/xenops.example.yaml'), {});
    expect([loaded.discord?.token, loaded.telegram?.token]).toEqual([undefined, undefined]);
  });

  it('gives the demo a terminal that stays open, and the platforms that have a token', () => {
    const demo = service('demo');
    expect(demo.command).toEqual(expect.arrayContaining(['demo', '--available']));
    expect(demo.command).not.toContain('--no-terminal');
    expect(demo.stdin_open).toBe(true);
    expect(demo.tty).toBe(true);
  });

  it("does not take the host's Redis port", () => {
    for (const [name, s] of Object.entries(compose.services))
      for (const p of s.ports ?? []) expect(hostPort(p), `${name} publishes ${p}`).not.toBe(6379);
    for (const p of service('redis').ports ?? []) expect(p.startsWith('127.0.0.1:'), `${p} is on loopback`).toBe(true);
  });

  it('waits for a healthy Redis, and checks bot and agent on their own /healthz', () => {
    for (const name of ['bot', 'agent', 'demo']) expect(service(name).depends_on?.['redis']?.condition).toBe('service_healthy');
    for (const name of ['bot', 'agent']) {
      const s = service(name);
      const port = s.command?.[(s.command?.indexOf('--http-port') ?? -2) + 1];
      expect(port, `${name} serves the ops endpoints`).toMatch(/^\d+$/);
      expect(s.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/healthz`);
    }
  });

  describe('the healthcheck command itself', () => {
    let ops: OpsServer;
    beforeAll(async () => {
      ops = await startOpsServer({
        host: '127.0.0.1',
        port: 0,
        registry: new Registry(),
        readiness: async () => [],
        logger: createLogger('silent'),
      });
    });
    afterAll(() => ops.close());

    it('exits 0 against a live /healthz and 1 when nothing answers', async () => {
      const [, node, flag, script] = service('bot').healthcheck?.test ?? [];
      expect([node, flag]).toEqual(['node', '-e']);
      expect(script).toContain(':9464/healthz');
      // Asynchronously: the server answering it runs in this process.
      const run = (port: number) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['-e', (script as string).replace(':9464/', `:${port}/`)], { stdio: 'ignore' });
          child.once('exit', (code) => resolve(code));
        });
      expect(await run(ops.port)).toBe(0);
      const closed = await startOpsServer({
        host: '127.0.0.1',
        port: 0,
        registry: new Registry(),
        readiness: async () => [],
        logger: createLogger('silent'),
      });
      const port = closed.port;
      await closed.close();
      expect(await run(port)).toBe(1);
    });
  });
});

describe('systemd units', () => {
  const unit = (name: string) => {
    const text = readFileSync(join(ROOT, 'deploy', 'systemd', name), 'utf8');
    const directives = new Map<string, string[]>();
    for (const line of text.split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (m?.[1]) directives.set(m[1], [...(directives.get(m[1]) ?? []), m[2] ?? '']);
    }
    return { text, get: (key: string) => directives.get(key) ?? [] };
  };

  it.each(['xenops-bot.service', 'xenops-agent.service'])('%s is sandboxed and runs as xenops', (name) => {
    const u = unit(name);
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['User', 'xenops'],
      ['Restart', 'on-failure'],
      ['ReadWritePaths', '/var/lib/xenops'],
      ['WorkingDirectory', '/var/lib/xenops'],
      ['EnvironmentFile', '/etc/xenops/xenops.env'],
    ] as const)
      expect(u.get(key), `${name}: ${key}`).toEqual([value]);
    // V8 needs W^X memory: this would crash node.
    expect(u.get('MemoryDenyWriteExecute')).toEqual([]);
    const exec = u.get('ExecStart')[0]?.split(/\s+/) ?? [];
    const flags = productionNodeFlags(name === 'xenops-agent.service' ? 'agent' : 'bot');
    const at = 2 + flags.length;
    expect(exec.slice(0, at)).toEqual(['/usr/bin/node', ...flags, `/opt/xenops/${BUILT_CLI}`]);
    expectRealCommand(exec.slice(at));
  });

  it('gives the agent longer than its SIGTERM grace before SIGKILL', () => {
    const seconds = Number(/^(\d+)s$/.exec(unit('xenops-agent.service').get('TimeoutStopSec')[0] ?? '')?.[1]);
    const graceMs = Config.parse({ hosts: { h: { address: 'h', privateKeyPath: '/k', hostKey: `SHA256:${'a'.repeat(43)}` } } }).agent
      .closeGraceMs;
    // The agent exits within max(4.5 s, closeGraceMs + 1.5 s) of SIGTERM (src/app/main.ts).
    expect(seconds * 1000).toBeGreaterThan(Math.max(4_500, graceMs + 1_500));
  });

  it.runIf(existsSync('/usr/bin/systemd-analyze'))('passes systemd-analyze verify', () => {
    const files = ['xenops-bot.service', 'xenops-agent.service'].map((f) => join(ROOT, 'deploy', 'systemd', f));
    const r = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8' });
    // Only what concerns these units: verify also reports on the system's own units in some containers.
    const ours = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /xenops-(bot|agent)\.service/.test(l));
    expect(ours).toEqual([]);
    expect(r.status).toBe(0);
  });
});

describe('the documented install steps', () => {
  /** Where the README and the files in deploy/systemd say how to make the user: `systemd-sysusers FILE`. */
  const sysusersCommands = () =>
    [
      'README.md',
      'deploy/systemd/xenops-bot.service',
      'deploy/systemd/xenops-agent.service',
      'deploy/systemd/xenops.sysusers.conf',
    ].flatMap((doc) =>
      [...readFileSync(join(ROOT, doc), 'utf8').matchAll(/systemd-sysusers ([^\s`),]+)/g)].map((m) => ({ doc, file: m[1] ?? '' })),
    );

  it('name the sysusers file by its absolute path in the install, which systemd-sysusers needs', () => {
    const commands = sysusersCommands();
    expect(commands.length).toBeGreaterThan(0);
    // A relative name is looked up in the sysusers.d directories, never in the working directory: "Failed to open".
    for (const { doc, file } of commands) {
      expect(file, `${doc}: systemd-sysusers ${file}`).toMatch(/^\/opt\/xenops\//);
      expect(existsSync(join(ROOT, file.slice('/opt/xenops/'.length))), `${doc}: ${file} is in the checkout`).toBe(true);
    }
  });

  it.runIf(existsSync('/usr/bin/systemd-sysusers'))('create the user when run as written (systemd-sysusers --dry-run)', () => {
    for (const { doc, file } of sysusersCommands()) {
      // The checkout stands for /opt/xenops; a relative path is run from the checkout, where the README is read.
      const path = file.startsWith('/opt/xenops/') ? join(ROOT, file.slice('/opt/xenops/'.length)) : file;
      const r = spawnSync('systemd-sysusers', ['--dry-run', path], { encoding: 'utf8', cwd: ROOT });
      // "Creating user 'xenops'…" on stderr, or nothing where it exists already; never "Failed to open".
      expect({ doc, file, status: r.status, failed: r.stderr.match(/^Failed.*$/m)?.[0] }).toEqual({
        doc,
        file,
        status: 0,
        failed: undefined,
      });
    }
  });
});

describe('the image build', () => {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  /** Docker's rule: the last pattern that matches the path or a directory above it decides; `!` takes it back in. */
  const inContext = (path: string): boolean => {
    const parts = path.split('/');
    let excluded = false;
    for (const raw of patterns) {
      const negated = raw.startsWith('!');
      const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
      if (parts.some((_, i) => picomatch.isMatch(parts.slice(0, i + 1).join('/'), pattern, { dot: true }))) excluded = !negated;
    }
    return !excluded;
  };

  it('bakes in none of the files the operator puts beside it: the config, .env, the SSH key', () => {
    // Following README "Docker Compose": config/xenops.yaml (COPY config copied it into the image), the tokens in .env,
    // the agent's key in ./secrets (sent to the builder with the rest of the directory).
    for (const path of ['config/xenops.yaml', 'config/prod.yaml', '.env', 'secrets/id_ed25519'])
      expect(inContext(path), `${path} is left out of the build`).toBe(false);
  });

  it('still has what the Dockerfile copies, and the configs the image ships', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'src', 'commands', 'config']));
    for (const path of [...sources, 'src/cli.ts', 'commands/stop.ts', 'config/demo.yaml', 'config/xenops.example.yaml'])
      expect(inContext(path), `${path} is in the build`).toBe(true);
  });
});
