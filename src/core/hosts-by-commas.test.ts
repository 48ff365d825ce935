import { describe, expect, it } from 'vitest';
import { domainSummary as dom } from '../../test/helpers/domains.ts';
import { pipelineScene } from '../../test/helpers/pipeline-scene.ts';
import { chatRequest } from '../../test/helpers/requests.ts';
import { FleetCache } from '../app/fleet-cache.ts';
import { decide } from './pipeline.ts';

/**
 * `/list xen1 xen2`, a space where /list takes a comma, was answered `unexpected argument "xen2"`: true, but it did not
 * say how to name two hosts. When the words are hosts of the config the asker may use, and the line with them joined
 * by commas is one the command takes, the refusal says that line.
 */
const HOSTS = ['xen1', 'xen2', 'xen3'];
const fleet = new FleetCache(HOSTS);
for (const h of HOSTS) fleet.update(h, [dom(`web-${h}`, 'running')]);

const text = (d: unknown) => (d as { reply?: { blocks?: { text?: string }[] } }).reply?.blocks?.[0]?.text;

describe('hosts separated by spaces', () => {
  const { ctx } = pipelineScene(HOSTS);

  it.each([
    ['list xen1 xen2', 'unexpected argument "xen2" (hosts go separated by commas: /list xen1,xen2)'],
    ['list xen3 xen1 xen2', 'unexpected argument "xen1" (hosts go separated by commas: /list xen3,xen1,xen2)'],
    ['top xen1 xen2 chart:true', 'unexpected argument "xen2" (hosts go separated by commas: /top xen1,xen2 chart:true)'],
    ['uptime xen1 xen2', 'unexpected argument "xen2" (hosts go separated by commas: /uptime xen1,xen2)'],
    ['digest xen1 xen2 hours:6', 'unexpected argument "xen2" (hosts go separated by commas: /digest xen1,xen2 hours:6)'],
  ])('/%s: says the line with commas', (line, message) => {
    const d = decide(ctx, chatRequest('r1', line), fleet, true);
    expect(d).toMatchObject({ kind: 'reject', reply: { title: expect.stringMatching(/^Bad arguments for \//) } });
    expect(text(d)).toBe(message);
  });

  it('says nothing of commas to a command that takes one host (the joined line is none it takes)', () => {
    expect(text(decide(ctx, chatRequest('r1', 'info xen1 xen2'), fleet, true))).toBe('unexpected argument "xen2"');
  });

  it('says nothing of commas when a word is no host', () => {
    expect(text(decide(ctx, chatRequest('r1', 'list xen1 xen9'), fleet, true))).toBe('unexpected argument "xen9"');
    expect(text(decide(ctx, chatRequest('r1', 'list xen1 web'), fleet, true))).toBe('unexpected argument "web"');
  });

  it('suggests no host the asker may not use', () => {
    const scoped = pipelineScene(HOSTS, { id: 'dave', allow: [{ permission: 'read', hosts: ['xen1'] }] as unknown as string[] });
    expect(text(decide(scoped.ctx, chatRequest('r1', 'list xen1 xen2', 'dave'), fleet, true))).toBe('unexpected argument "xen2"');
  });
});
