import { describe, expect, it } from 'vitest';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { decide } from '../src/core/pipeline.ts';
import { domainSummary as dom } from '../test/helpers/domains.ts';
import { pipelineScene } from '../test/helpers/pipeline-scene.ts';
import { chatRequest } from '../test/helpers/requests.ts';

/**
 * `constructor` is a valid host name (a-z) and, through Object.prototype, "in" every config's `hosts` object: the
 * pipeline's `config.hosts[name]` test took it for a configured host, so `/migrate web constructor` was put to an
 * approver ("xen1$ xl migrate web constructor") and, approved, answered by the agent with an untrue reason
 * ("constructor (undefined): xl migrate and xm migrate speak different protocols").
 */
const { ctx } = pipelineScene(['xen1', 'xen2']);

const fleet = () => {
  const f = new FleetCache(['xen1', 'xen2']);
  f.update('xen1', [dom('web', 'running')]);
  f.update('xen2', []);
  return f;
};

describe('/migrate to a host the config does not have', () => {
  it('is refused before anything is queued or put to an approver, also when the name is an Object.prototype key', () => {
    for (const target of ['constructor', 'xen3']) {
      const d = decide(ctx, chatRequest('r1', `migrate web ${target}`), fleet(), true);
      expect(d).toMatchObject({ kind: 'reject', reply: { title: 'Cannot do that' } });
      expect((d as { reply: { blocks: { text: string }[] } }).reply.blocks[0]?.text).toBe(`no host named ${target} (hosts: xen1, xen2)`);
    }
  });

  it('a host argument named constructor is no host either (not "may not run /list on constructor")', () => {
    const d = decide(ctx, chatRequest('r1', 'list constructor'), fleet(), true);
    expect(d).toMatchObject({ kind: 'reject', reply: { title: 'Cannot do that' } });
  });

  it('a configured target is still queued', () => {
    expect(decide(ctx, chatRequest('r1', 'migrate web xen2'), fleet(), true)).toMatchObject({ kind: 'enqueue' });
  });
});
