import { describe, expect, it } from 'vitest';
import type { Reply } from '../../src/core/reply.ts';
import { operatorsScene } from '../helpers/operators.ts';

/** /status from an agent whose config turns the live sampling off (`sampling.enabled: false`). */

const scene = operatorsScene(
  { hosts: { xen1: { toolstack: 'xl', domains: [{ name: 'web', memoryMiB: 1024, vcpus: 2, running: true }] } } },
  {
    roles: { admin: { allow: ['*'] } },
    people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
    sampling: { enabled: false },
  },
);

const texts = (r: Reply) => r.blocks.flatMap((b) => (b.type === 'text' ? [b.text] : []));

describe('/status when the agents do not sample', () => {
  it('GIVEN sampling.enabled false THEN it says sampling is off, never that the agents sample every few seconds', async () => {
    const r = await scene.ask('status-sampling-off-1', 'status', 'alice');
    expect(texts(r)).toContain('No live CPU samples: sampling is off in the agent’s config (sampling.enabled).');
    expect(texts(r).join('\n')).not.toContain('every few seconds');
  }, 30_000);
});
