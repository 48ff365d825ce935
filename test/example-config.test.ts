import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfigText } from '../src/config/load.ts';

/**
 * config/xenops.example.yaml is what operators copy: its commented-out examples must load once uncommented (a
 * schedule without its required `as` did not), and compose must mount the agent's key where the example looks.
 */
const ROOT = join(import.meta.dirname, '..');
const EXAMPLE = readFileSync(join(ROOT, 'config', 'xenops.example.yaml'), 'utf8');
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

/** The example with its commented-out entries put in (the list items and mappings written as YAML after `#`). */
function uncommented(text: string): string {
  return (
    text
      .replace('# passphrase: ', 'passphrase: ')
      .replace('maintenance: []\n#  - ', 'maintenance:\n  - ')
      .replace('\n#  - { hosts: [xen1]', '\n  - { hosts: [xen1]')
      .replace('  overrides: []\n  #  - ', '  overrides:\n    - ')
      .replace('  # hosts: [xen1]', '  hosts: [xen1]')
      .replace('  # digest: { disabled: true }', '  digest: { disabled: true }')
      .replaceAll('  # apiRoot: ', '  apiRoot: ')
      // A commented block: its `#` column removed while the block lasts.
      .replace(
        /\n {2}# (webhook|status-board):\n((?: {2}# .*\n)+)/g,
        (_m, key: string, body: string) => `\n  ${key}:\n${body.replace(/^ {2}# /gm, '  ')}`,
      )
      .replaceAll('SHA256:ReplaceMeWithTheHostsOwnFingerprint00000000', FP)
  );
}

describe('config/xenops.example.yaml', () => {
  it('loads with every commented-out example put in', () => {
    const text = uncommented(EXAMPLE);
    const config = parseConfigText(text, 'example', { XENOPS_KEY_PASSPHRASE: 'p', TELEGRAM_WEBHOOK_SECRET: 's' });
    expect(config.hosts['xen1']?.passphrase).toBe('p');
    expect(config.maintenance).toHaveLength(2);
    expect(config.oncall?.overrides).toHaveLength(1);
    expect(config.telegram?.webhook).toMatchObject({ domain: 'bot.example.net', secretToken: 's' });
    expect(Object.keys(config.schedules).sort()).toEqual(['morning-digest', 'status-board', 'xen1-top']);
    expect(config.schedules['xen1-top']).toMatchObject({ what: 'top', host: 'xen1' });
    expect(config.agent.hosts).toEqual(['xen1']);
    expect(config.commands['digest']).toEqual({ disabled: true });
  });

  it('looks for the agent key where docker compose mounts it', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { volumes?: string[] }>;
    };
    const config = parseConfigText(EXAMPLE.replaceAll('SHA256:ReplaceMeWithTheHostsOwnFingerprint00000000', FP), 'example', {});
    const keyDir = dirname(config.hosts['xen1']?.privateKeyPath ?? '');
    // Compose's own ${VAR:-default} substitution in the host path.
    expect(compose.services['agent']?.volumes).toContain(`\${XENOPS_SSH_KEY_DIR:-./secrets}:${keyDir}:ro`);
  });
});

describe('config/xenops.example.yaml under docker compose', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { environment?: Record<string, string> }>;
  };

  it('gets every variable it reads without a default into each service that loads it', () => {
    // `${VAR}` with no `:-default` stops every process loading the config while VAR is unset (the bot loads the hosts'
    // passphrases too); compose hands a container only what its `environment` lists, not the whole of .env.
    const values = (v: unknown): string[] =>
      typeof v === 'string' ? [v] : v !== null && typeof v === 'object' ? Object.values(v).flatMap(values) : [];
    const references = values(parse(uncommented(EXAMPLE))).flatMap((v) => [...v.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)]);
    const required = [...new Set(references.map((m) => m[1] ?? ''))];
    expect(required.sort()).toEqual(['TELEGRAM_WEBHOOK_SECRET', 'XENOPS_KEY_PASSPHRASE']);
    for (const name of ['bot', 'agent']) {
      const env = compose.services[name]?.environment ?? {};
      expect(env['XENOPS_CONFIG'], `${name} loads the config`).toBe('/app/config/xenops.yaml');
      // As written in .env (or the shell compose runs in), as the tokens are.
      for (const variable of [...required, 'XENOPS_LOG_LEVEL']) expect(env[variable], `${name}: ${variable}`).toBe(`\${${variable}:-}`);
    }
  });
});
