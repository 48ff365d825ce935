import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import type { JobSpec } from '../core/define-command.ts';
import type { AnyJobCommand } from '../core/pipeline.ts';
import { describeArgs } from './approval-desk.ts';
import type { ApprovalRecord } from './approvals.ts';

/** An approval record of `command` with `args`, as the desk stores it (args as the command parsed them). */
const rec = (command: string, args: Record<string, unknown>, mode: 'parallel' | 'sequence', hosts: string[], jobs: JobSpec[]) =>
  ({ command, args, mode, targets: hosts.map((host) => ({ host })), jobs }) as unknown as ApprovalRecord;

const evacuation: JobSpec[] = [
  { op: 'domain.migrate', host: 'xen2', domain: 'files', target: 'xen1' },
  { op: 'domain.migrate', host: 'xen2', domain: 'mail', target: 'xen1' },
  { op: 'domain.list', host: 'xen2' },
];

describe("an approval card names the options that change what runs, so two different requests' cards differ", () => {
  it('/evacuate: its targets (to …) and --shutdown-rest', () => {
    expect(describeArgs(rec('evacuate', { host: 'xen2', 'shutdown-rest': false }, 'sequence', ['xen2'], evacuation))).toBe(
      'xen2 (2 steps)',
    );
    expect(describeArgs(rec('evacuate', { host: 'xen2', to: ['xen1'], 'shutdown-rest': false }, 'sequence', ['xen2'], evacuation))).toBe(
      'xen2 to xen1 (2 steps)',
    );
    expect(describeArgs(rec('evacuate', { host: 'xen2', to: ['xen1'], 'shutdown-rest': true }, 'sequence', ['xen2'], evacuation))).toBe(
      'xen2 to xen1 --shutdown-rest (2 steps)',
    );
    expect(
      describeArgs(rec('evacuate', { host: 'xen2', to: ['xen1', 'xen3'], 'shutdown-rest': true }, 'sequence', ['xen2'], evacuation)),
    ).toBe('xen2 to xen1,xen3 --shutdown-rest (2 steps)');
  });

  it('/rebalance --run: the hosts it was planned over; /migrate its target; /stop and /reboot --force', () => {
    const moves: JobSpec[] = [
      { op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen2' },
      { op: 'domain.migrate', host: 'xen2', domain: 'db', target: 'xen1' },
    ];
    expect(describeArgs(rec('rebalance', { hosts: ['xen1', 'xen2'], run: true }, 'sequence', ['xen1', 'xen2'], moves))).toBe(
      'xen1,xen2 (2 steps)',
    );
    const one = (job: JobSpec) => ({ ...rec(job.op, {}, 'parallel', [], [job]), targets: [{ host: 'xen1', domain: 'web' }] });
    expect(describeArgs(one({ op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen2' }))).toBe('xen1:web to xen2');
    expect(describeArgs(one({ op: 'domain.stop', host: 'xen1', domain: 'web', force: true }))).toBe('xen1:web --force');
    expect(describeArgs(one({ op: 'domain.stop', host: 'xen1', domain: 'web', force: false }))).toBe('xen1:web');
    expect(describeArgs(one({ op: 'domain.reboot', host: 'xen1', domain: 'web', force: true }))).toBe('xen1:web --force');
  });
});

const { person, makeDesk } = approvalDeskScene();

describe('two evacuations of one host that differ in --shutdown-rest', () => {
  it('get cards whose titles say which is which', async () => {
    const { desk, delivered } = await makeDesk();
    const evacuate = COMMANDS.find((c) => c.name === 'evacuate') as AnyJobCommand;
    const ask = (requestId: string, shutdownRest: boolean) =>
      desk.request(
        {
          id: requestId,
          platform: 'terminal',
          actor: { platform: 'terminal', userId: 'alice', roleIds: [], displayName: 'alice' },
          channel: { id: 'terminal', kind: 'direct' },
          command: 'evacuate',
          args: { kind: 'text', text: '' },
          receivedAt: Date.now(),
          source: 'command',
        },
        { platform: 'terminal', channelId: 'terminal', requestId, state: {} },
        {
          kind: 'needsApproval',
          evaluated: {
            command: evacuate,
            args: { host: 'xen1', to: ['xen2'], 'shutdown-rest': shutdownRest },
            person: person('alice'),
            risk: 'dangerous',
          },
          command: evacuate,
          targets: [{ host: 'xen1' }],
          mode: 'sequence',
          jobs: [
            { op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen2' },
            { op: 'domain.list', host: 'xen1' },
          ],
          policy: { commands: ['evacuate'], risks: [], hosts: ['*'], approvers: 'oncall', count: 1, expiresMinutes: 15 },
        },
      );
    await ask('req-evacuate-plain', false);
    await ask('req-evacuate-shutdown-rest', true);
    desk.stop();
    expect(delivered.map((d) => d.reply.title.replace(/ — \w+$/, ''))).toEqual([
      'Approval needed: /evacuate xen1 to xen2 (1 step)',
      'Approval needed: /evacuate xen1 to xen2 --shutdown-rest (1 step)',
    ]);
  });
});
