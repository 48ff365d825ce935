import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { pipelineScene } from '../../test/helpers/pipeline-scene.ts';
import { autocompleteChoices } from './autocomplete.ts';
import { FleetCache } from './fleet-cache.ts';

/**
 * A host argument that takes a list (`/list xen1,xen2`): Discord asks for choices as the list is typed, and each
 * keystroke after the comma must complete the last host, keeping those before it — not offer nothing (no host is named
 * `xen1,xe`) nor replace the list with one host. An argument of one host (/info) offers no list.
 */
const HOSTS = ['xen1', 'xen2', 'xen3'];
const fleet = new FleetCache(HOSTS);
const alice = { platform: 'terminal' as const, userId: 'alice', roleIds: [], displayName: 'alice' };
const command = (name: string) => COMMANDS.find((c) => c.name === name);

describe('host autocomplete of a list', () => {
  const { config } = pipelineScene(HOSTS);
  const values = (name: string, partial: string) =>
    autocompleteChoices(config, fleet, command(name), alice, 'host', partial).map((c) => c.value);

  it('completes the last host after a comma, keeping the ones before it, and offers no host twice', () => {
    expect(values('list', 'xen1,')).toEqual(['xen1,xen2', 'xen1,xen3']);
    expect(values('top', 'xen1,xen3,x')).toEqual(['xen1,xen3,xen2']);
    expect(values('uptime', 'xen2,3')).toEqual(['xen2,xen3']);
  });

  it('offers one host as before without a comma, and no list to a command that takes one host', () => {
    expect(values('list', 'xen')).toEqual(HOSTS);
    expect(values('info', 'xen1,')).toEqual([]);
  });

  it('offers only hosts the person may use after the comma', () => {
    const scoped = pipelineScene(HOSTS, { id: 'dave', allow: [{ permission: 'read', hosts: ['xen1', 'xen2'] }] as unknown as string[] });
    const dave = { ...alice, userId: 'dave', displayName: 'dave' };
    expect(autocompleteChoices(scoped.config, fleet, command('list'), dave, 'host', 'xen1,').map((c) => c.value)).toEqual(['xen1,xen2']);
  });
});
