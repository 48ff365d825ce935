import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { domainSummary as dom } from '../../test/helpers/domains.ts';
import { Config } from '../config/schema.ts';
import { autocompleteChoices } from './autocomplete.ts';
import { FleetCache } from './fleet-cache.ts';

/**
 * A name every host has (a monitoring guest on each of 1,000 hosts) is offered as `host:name`, 25 at a time: typing
 * the host part, as those choices show it, is how a person reaches the copy on the 500th host.
 */
const HOSTS = 1_000;
const names = Array.from({ length: HOSTS }, (_, i) => `h${String(i + 1).padStart(4, '0')}`);
const config = Config.parse({
  hosts: Object.fromEntries(names.map((h) => [h, { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'A'.repeat(43)}` }])),
  roles: { admin: { allow: ['*'] }, few: { allow: [{ permission: '*', hosts: ['h0001'] }] } },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    fay: { roles: ['few'], identities: { terminal: 'fay' } },
  },
  channels: [{ platform: 'terminal', id: '*' }],
});
const fleet = new FleetCache(names);
for (const h of names) fleet.update(h, [dom('monitor', 'running'), dom(`${h}-web`, 'running')]);
const stop = COMMANDS.find((c) => c.name === 'stop');
const actor = (who: string) => ({ platform: 'terminal' as const, userId: who, roleIds: [], displayName: who });

describe('autocomplete of a name on every host of a large fleet', () => {
  it('typing host:name as the choices show it narrows to that copy', () => {
    expect(autocompleteChoices(config, fleet, stop, actor('alice'), 'domain', 'h0500:mon')).toEqual([
      { name: 'h0500:monitor (h0500, running)', value: 'h0500:monitor' },
    ]);
  });

  it('a host part alone offers that host’s domains; a bare word still matches names only', () => {
    const onHost = autocompleteChoices(config, fleet, stop, actor('alice'), 'domain', 'h0500:');
    expect(onHost.map((c) => c.value).sort()).toEqual(['h0500-web', 'h0500:monitor']);
    // "h05" is not taken as a host part: names containing it, not every domain of h0500–h0599.
    const bare = autocompleteChoices(config, fleet, stop, actor('alice'), 'domain', 'h050');
    expect(bare.every((c) => c.value.includes('-web'))).toBe(true);
  });

  it('never offers a copy on a host the person may not use, however the host is typed', () => {
    expect(autocompleteChoices(config, fleet, stop, actor('fay'), 'domain', 'h0500:')).toEqual([]);
    expect(autocompleteChoices(config, fleet, stop, actor('fay'), 'domain', 'h0001:mon')).toEqual([
      { name: 'monitor (h0001, running)', value: 'monitor' },
    ]);
  });
});
