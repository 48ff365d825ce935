import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { Config } from '../config/schema.ts';
import type { DomainSummary } from '../core/xen.ts';
import { autocompleteChoices } from './autocomplete.ts';
import { FleetCache } from './fleet-cache.ts';

const fp = (c: string) => `SHA256:${c.repeat(43)}`;
// erin operates every domain on xen1, and only the db* domains on xen2.
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
  },
  roles: {
    mixed: {
      allow: [
        { permission: 'operate', hosts: ['xen1'] },
        { permission: 'operate', hosts: ['xen2'], domains: ['db*'] },
      ],
    },
  },
  people: { erin: { roles: ['mixed'], identities: { terminal: 'erin' } } },
  channels: [{ platform: 'terminal', id: '*' }],
});
const dom = (name: string): DomainSummary => ({
  name,
  uuid: null,
  id: 1,
  status: 'blocked',
  flags: '-b----',
  memoryMiB: 512,
  vcpus: 1,
  cpuSeconds: 0,
  configPath: `/etc/xen/vm/${name}.cfg`,
});

describe('autocomplete for a person whose permission reaches only some domains of a host', () => {
  it('offers the bare name when the only other copy is outside her scope (no hint that one exists)', () => {
    const fleet = new FleetCache(['xen1', 'xen2']);
    fleet.update('xen1', [dom('web')]);
    fleet.update('xen2', [dom('web'), dom('db1')]);
    const stop = COMMANDS.find((c) => c.name === 'stop');
    const actor = { platform: 'terminal' as const, userId: 'erin', roleIds: [], displayName: 'erin' };
    expect(autocompleteChoices(config, fleet, stop, actor, 'domain', 'web')).toEqual([{ name: 'web (xen1, blocked)', value: 'web' }]);
  });
});
