import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { KNOWN_PERMISSIONS } from '../queue/ops.ts';
import { configProblems } from './problems.ts';

const NAMES = COMMANDS.map((c) => c.name);
const ROOT = join(import.meta.dirname, '..', '..');
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

describe('the names a config may use', () => {
  it('hold every permission a command checks', () => {
    const checked = COMMANDS.flatMap((c) => (c.permission === null ? [] : [c.permission]));
    expect(checked.filter((p) => !KNOWN_PERMISSIONS.includes(p))).toEqual([]);
  });
});

/** The configs the bot and the agent are started on (the demo, the fault suite, the example once edited) start. */
describe('the shipped configs, as the bot and the agent check them at start', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xenops-problems-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('config/demo.yaml has no problem, with the variables the demo and the fault suite give it', () => {
    const env = {
      XENOPS_SIM_XEN1_PORT: '2201',
      XENOPS_SIM_XEN2_PORT: '2202',
      XENOPS_SIM_CLIENT_KEY: '/tmp/client_ed25519',
      XENOPS_SIM_XEN1_HOSTKEY: FP,
      XENOPS_SIM_XEN2_HOSTKEY: FP.replace('uNi', 'vNi'),
      XENOPS_REDIS_PREFIX: 'xenops-test',
    };
    expect(configProblems(join(ROOT, 'config', 'demo.yaml'), env, NAMES).problems).toEqual([]);
  });

  it("config/xenops.example.yaml has no problem once its hosts' fingerprints are put in, and only those before", () => {
    const example = join(ROOT, 'config', 'xenops.example.yaml');
    expect(configProblems(example, {}, NAMES).problems.map((p) => p.path)).toEqual(['hosts.xen1.hostKey', 'hosts.xen2.hostKey']);
    const edited = join(dir, 'xenops.yaml');
    writeFileSync(edited, readFileSync(example, 'utf8').replaceAll('SHA256:ReplaceMeWithTheHostsOwnFingerprint00000000', FP));
    expect(configProblems(edited, {}, NAMES).problems).toEqual([]);
  });
});
