import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditCliScene, DEMO_CONFIG as DEMO } from '../../test/helpers/audit-cli.ts';

/**
 * `xenops audit verify` reads two sections of the config, `redis` and `audit`. It loaded the whole file and refused to
 * run on any problem in it: the demo's trail could not be checked with `-c config/demo.yaml` unless the simulator's
 * XENOPS_SIM_* variables (its hosts' ports and keys) were set. A problem in the sections it reads is still reported by
 * path; one elsewhere (an unset variable, a bad value in a host) is none of its business.
 */
const scene = auditCliScene('audit-sections');
const { xenops, withoutSim } = scene;

function config(name: string, lines: string[]): string {
  const path = join(scene.dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe('xenops audit verify -c, on a config whose other sections it does not use', () => {
  it("checks the demo's file and stream without the simulator's variables; exit 0", async () => {
    const { prefix, name } = scene.fresh();
    // The demo's own audit.file (var/demo-audit.jsonl), relative to the working directory as the bot writes it.
    const cwd = join(scene.dir, 'demo');
    mkdirSync(cwd, { recursive: true });
    await scene.write(`${prefix}:audit`, join(cwd, 'var', 'demo-audit.jsonl'), 3);
    const run = xenops(['audit', 'verify', '-c', DEMO], withoutSim({ XENOPS_REDIS_PREFIX: name }), cwd);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`var/demo-audit.jsonl: OK: 3 entries, chain intact\nstream ${prefix}:audit: OK: 3 entries, chain intact\n`);
    expect(run.status).toBe(0);
  });

  it('still reports, by path, a problem in redis or audit — and only those', () => {
    // biome-ignore-start lint/suspicious/noTemplateCurlyInString: as the file writes it
    const path = config('bad-sections.yaml', [
      'redis: { url: "${XENOPS_TEST_UNSET_REDIS_URL}", prefix: "{ok}" }',
      'audit: { file: var/a.jsonl, streamMaxLen: 5 }',
      'hosts:',
      '  xen1: { address: 10.0.0.1, port: "${XENOPS_TEST_UNSET_PORT}", privateKeyPath: /k }',
      'roles: { r: { allow: [no.such.permission] } }',
    ]);
    // biome-ignore-end lint/suspicious/noTemplateCurlyInString: as the file writes it
    const run = xenops(['audit', 'verify', '-c', path], withoutSim());
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      [
        `${path}: 2 problems`,
        '  - redis.url: environment variable XENOPS_TEST_UNSET_REDIS_URL is not set',
        '  - audit.streamMaxLen: must be at least 100, got 5',
        '',
      ].join('\n'),
    );
    expect(run.status).toBe(1);
  });

  it('reports a misspelt section (its defaults would name another file and stream) and a YAML error anywhere', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: as the file writes it
    const misspelt = config('misspelt.yaml', ['audti: { file: var/mine.jsonl }', 'hosts: { xen1: { address: "${XENOPS_TEST_UNSET}" } }']);
    const run = xenops(['audit', 'verify', '--file', '-c', misspelt], withoutSim());
    expect(run.stderr).toBe(`${misspelt}: 1 problem\n  - audti: unknown key\n`);
    expect(run.status).toBe(1);
    const broken = config('broken.yaml', ['audit: { file: var/a.jsonl }', 'hosts: [unclosed']);
    const yaml = xenops(['audit', 'verify', '--file', '-c', broken], withoutSim());
    expect(yaml.stderr).toMatch(new RegExp(`^${broken.replace(/[.]/g, '\\.')}: 1 problem\\n  - line \\d+: `));
    expect(yaml.status).toBe(1);
  });
});

describe('xenops check-config on the demo config without the simulator running', () => {
  const SIM_HINT =
    'the XENOPS_SIM_* variables are written by `npx xenops sim -c CONFIG` to var/sim/sim.env (or STATE_DIR/sim.env with --state-dir): with it running, `set -a; . var/sim/sim.env; set +a` in this shell, then run this again\n';

  it('says where the XENOPS_SIM_* variables come from, after the problems; exit 1', () => {
    const run = xenops(['check-config', '-c', DEMO], withoutSim());
    expect(run.stderr).toContain('error    hosts.xen1.port: environment variable XENOPS_SIM_XEN1_PORT is not set\n');
    expect(run.stderr.endsWith(SIM_HINT.replace('CONFIG', DEMO))).toBe(true);
    expect(run.status).toBe(1);
  });

  it('says nothing of the simulator for a config without a simulator section, or with other errors too', () => {
    const own = config('own.yaml', [
      'hosts:',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: as the file writes it
      '  xen1: { address: 10.0.0.1, port: "${XENOPS_SIM_XEN1_PORT}", privateKeyPath: /k, dangerouslyAcceptAnyHostKey: true }',
    ]);
    const ownRun = xenops(['check-config', '-c', own], withoutSim());
    expect(ownRun.stderr).toContain('environment variable XENOPS_SIM_XEN1_PORT is not set');
    expect(ownRun.stderr).not.toContain('sim.env');
    expect(ownRun.status).toBe(1);
    const mixed = xenops(['check-config', '-c', DEMO], withoutSim({ XENOPS_LOG_LEVEL: 'loud' }));
    expect(mixed.stderr).toContain('logLevel: ');
    expect(mixed.stderr).not.toContain('sim.env');
    expect(mixed.status).toBe(1);
  });
});
