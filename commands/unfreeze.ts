import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { HostList } from './freeze.ts';

/** `/unfreeze HOSTS`: lifts freezes made from chat (maintenance windows from the config stay). */
export const unfreeze = defineCommand({
  name: 'unfreeze',
  description: 'Lift a freeze made with /freeze (maintenance windows in the config stay)',
  args: z.strictObject({ hosts: HostList.describe('a host, hosts separated by commas, or all') }),
  positional: ['hosts'],
  permission: 'host.freeze',
  risk: 'write',
  scope: 'local',
  examples: ['/unfreeze xen1', '/unfreeze all'],
  run: (args, ctx) => ctx.freezes.unfreeze(args.hosts === 'all' ? ['all'] : args.hosts.split(',')),
});
