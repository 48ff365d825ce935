import { describe, expect, it } from 'vitest';
import { domainSummary as dom } from '../../test/helpers/domains.ts';
import { pipelineScene } from '../../test/helpers/pipeline-scene.ts';
import { chatRequest } from '../../test/helpers/requests.ts';
import { FleetCache } from '../app/fleet-cache.ts';
import { registerSecret } from './log.ts';
import { decide } from './pipeline.ts';

/**
 * Typed arguments lose the registered secrets (withoutSecrets) so that a token pasted into a reason is not shown back;
 * names the config itself gives — hosts — are no place for one and must reach the command as typed. A Redis password
 * `storage` (7 characters: check-config does not warn) inside the host names storage1 and storage2 made every command
 * naming a host act on `[redacted]1`.
 */
const { ctx } = pipelineScene(['storage1', 'storage2']);
registerSecret('storage');

const req = (text: string) => chatRequest('r1', text);

describe('a host whose name holds a registered secret', () => {
  const fleet = new FleetCache(['storage1', 'storage2']);
  fleet.update('storage1', [dom('web', 'running')]);
  fleet.update('storage2', []);

  it('is the host a migration goes to', () => {
    const d = decide(ctx, req('migrate web storage2'), fleet, true);
    expect(d).toMatchObject({ kind: 'enqueue', jobs: [{ op: 'domain.migrate', host: 'storage1', target: 'storage2' }] });
  });

  it('is the host /list reads', () => {
    const d = decide(ctx, req('list storage1'), fleet, true);
    expect(JSON.stringify(d)).not.toContain('[redacted]');
  });

  it('a reason still loses it', () => {
    const d = decide(ctx, req('stop storage1:web --reason "move to storage"'), fleet, true);
    expect(JSON.stringify(d)).toContain('move to [redacted]');
  });
});
