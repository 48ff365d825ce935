import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { domainSummary as dom } from '../../test/helpers/domains.ts';
import { pipelineScene } from '../../test/helpers/pipeline-scene.ts';
import { DOM0_NAME } from '../core/names.ts';
import { autocompleteChoices } from './autocomplete.ts';
import { FleetCache } from './fleet-cache.ts';

/**
 * Domain-0 among the choices: a read that may name it (/show, /uptime… of the host's own domain) offers it; a command
 * that refuses it offers it not — the mutating ones, and /console, a read that refuses it by its own argument (the
 * host's console is SSH, and xenconsole says "Can't specify Domain-0").
 */
const { config } = pipelineScene(['xen1', 'xen2']);
const fleet = new FleetCache(['xen1', 'xen2']);
fleet.update('xen1', [dom(DOM0_NAME, 'running'), dom('web', 'running')]);
fleet.update('xen2', [dom(DOM0_NAME, 'running'), dom('files', 'running')]);
const alice = { platform: 'terminal' as const, userId: 'alice', roleIds: [], displayName: 'alice' };
const command = (name: string) => COMMANDS.find((c) => c.name === name);
const values = (name: string, partial: string) =>
  autocompleteChoices(config, fleet, command(name), alice, 'domain', partial).map((c) => c.value);

describe('Domain-0 in domain autocomplete', () => {
  it('GIVEN /console, which refuses Domain-0 THEN Domain-0 is not offered, under any spelling typed', () => {
    expect(values('console', '')).toEqual(['web', 'files']);
    expect(values('console', 'dom')).toEqual([]);
    expect(values('console', 'xen1:dom')).toEqual([]);
  });

  it('GIVEN /show, a read that takes Domain-0 THEN it is still offered (one per host)', () => {
    expect(values('show', 'dom')).toEqual(['xen1:Domain-0', 'xen2:Domain-0']);
  });

  it('GIVEN /stop THEN Domain-0 is not offered (a mutation of it is refused)', () => {
    expect(values('stop', 'dom')).toEqual([]);
  });
});
