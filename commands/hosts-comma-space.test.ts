import { describe, expect, it } from 'vitest';
import { autocompleteChoices } from '../src/app/autocomplete.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { parseArgs } from '../src/core/args.ts';
import { decide } from '../src/core/pipeline.ts';
import { pipelineScene } from '../test/helpers/pipeline-scene.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { list } from './list.ts';

/**
 * A list of hosts written as lists are written, with a space after the comma. As a Discord option `xen1, xen2` is
 * taken; Discord's completion must go on after the space (as after `xen1,`), and `/list xen1, xen2` typed in chat is
 * told the line with commas, as `/list xen1 xen2` is.
 */
const HOSTS = ['xen1', 'xen2', 'xen3'];
const fleet = new FleetCache(HOSTS);
const alice = { platform: 'terminal' as const, userId: 'alice', roleIds: [], displayName: 'alice' };
const said = (d: unknown): string => (d as { reply?: { blocks?: { text?: string }[] } }).reply?.blocks?.[0]?.text ?? '';

describe('hosts separated by a comma and a space', () => {
  it('the command takes "xen1, xen2" as a Discord option', () => {
    expect(parseArgs(list, { kind: 'options', options: { host: 'xen1, xen2' } })).toEqual({ host: ['xen1', 'xen2'] });
  });

  it('Discord completes the host after "xen1, "', () => {
    const { config } = pipelineScene(HOSTS);
    const offered = autocompleteChoices(config, fleet, list, alice, 'host', 'xen1, x').map((c) => c.value);
    expect(offered.length).toBeGreaterThan(0);
  });

  it('"/list xen1, xen2" typed in chat is told the line with commas, as "/list xen1 xen2" is', () => {
    const { ctx } = pipelineScene(HOSTS);
    expect(said(decide(ctx, chatRequest('r1', 'list xen1 xen2'), fleet, true))).toContain('/list xen1,xen2');
    expect(said(decide(ctx, chatRequest('r1', 'list xen1, xen2'), fleet, true))).toContain('/list xen1,xen2');
  });
});
