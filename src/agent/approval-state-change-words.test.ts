import { describe, expect, it } from 'vitest';
import type { DomainSummary } from '../core/xen.ts';
import { stateChange } from './process.ts';

/**
 * What the agent says when it refuses an approved job because the guest is not the one the approval was asked for.
 * Seen through the pipeline (test/integration/approval-two-person-rule.test.ts): db renamed to db-old by hand and a
 * new guest created as db — a different UUID — was reported to the requester as "db was restarted (id 3 → 6)".
 */
const expectOf = { up: true, id: 3, uuid: '0b2f9a4e-6c1d-4e8a-9d3b-2a7f5c8e1d40', approvalId: 'K7Q2XM' };
const running = (id: number, uuid: string): DomainSummary => ({
  name: 'db',
  uuid,
  id,
  status: 'blocked',
  flags: '-b----',
  memoryMiB: 512,
  vcpus: 1,
  cpuSeconds: 1,
  configPath: null,
});

describe('stateChange: the words of a refused approved job', () => {
  it('GIVEN the same guest restarted (same UUID, new domid) THEN "was restarted"', () => {
    expect(stateChange(expectOf, running(6, expectOf.uuid), 'db')).toMatch(/^db was restarted \(id 3 → 6\) since approval K7Q2XM/);
  });

  it('GIVEN another guest under its name (new UUID and new domid) THEN "is another guest now", not "was restarted"', () => {
    const other = '11111111-2222-3333-4444-555555555555';
    expect(stateChange(expectOf, running(6, other), 'db')).toMatch(new RegExp(`^db is another guest now \\(UUID ${other}\\)`));
  });
});
