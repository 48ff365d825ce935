import { describe, expect, it } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import { Config } from '../config/schema.ts';

const { config, person, makeDesk, askStop } = approvalDeskScene();

describe('an approval whose command the config made riskier since it was asked (a restart with an edited file)', () => {
  it('/stop now dangerous, and dangerous needs two approvers: a request asked under one waits for a second', async () => {
    const asked = await makeDesk();
    const id = await askStop(asked.desk, 'req-risk-1');
    asked.desk.stop();
    // A /stop asked now is dangerous (commands.stop.risk), and the first policy that names its risk wants two.
    const edited = Config.parse({
      ...config,
      commands: { stop: { risk: 'dangerous' } },
      approvals: { policies: [{ risks: ['dangerous'], count: 2 }, { commands: ['stop', 'reboot'] }] },
    });
    const after = await makeDesk({ config: edited });
    try {
      const bob = await after.desk.approve(id, person('bob'), 'terminal');
      expect({ title: bob.title, blocks: bob.blocks, enqueued: after.enqueued }).toEqual({
        title: 'Approved by you (1 of 2)',
        blocks: [{ type: 'text', text: `${id} waits for more approvals` }],
        enqueued: [],
      });
    } finally {
      after.desk.stop();
    }
  });
});
