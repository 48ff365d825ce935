import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../core/define-command.ts';
import { describeArgs } from './approval-desk.ts';
import type { ApprovalRecord } from './approvals.ts';

const plan = (moves: number): ApprovalRecord =>
  ({
    mode: 'sequence',
    targets: [{ host: 'xen1' }],
    jobs: Array.from({ length: moves }, (_, i): JobSpec => ({ op: 'domain.migrate', host: 'xen1', domain: `g${i}`, target: 'xen2' })),
  }) as unknown as ApprovalRecord;

describe("an approval card's words for a plan", () => {
  it('GIVEN one migration THEN "1 step"; GIVEN two THEN "2 steps"', () => {
    expect(describeArgs(plan(1))).toBe('xen1 (1 step)');
    expect(describeArgs(plan(2))).toBe('xen1 (2 steps)');
  });
});
