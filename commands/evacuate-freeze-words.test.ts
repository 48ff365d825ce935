import { describe, expect, it } from 'vitest';
import { renderContext } from '../src/core/define-command.ts';
import { type Block, type Reply, reply } from '../src/core/reply.ts';
import { listed, migrated, readBack } from '../test/helpers/evacuation-outcomes.ts';
import { demoChat } from '../test/helpers/stack.ts';
import { evacuate } from './evacuate.ts';

/**
 * The evacuation's card said "xen1 is frozen for new starts until /unfreeze", and its final reply "now frozen for new
 * starts": a frozen host refuses every mutating command (a stop, a migration away, a reboot), not only starts.
 */
const chat = demoChat();
const steps = [{ op: 'domain.migrate' as const, host: 'xen1', domain: 'gateway', target: 'xen2' }];
const args = { host: 'xen1', 'shutdown-rest': false };
const text = (r: Reply) => [r.title ?? '', ...r.blocks.map((b) => (b.type === 'text' ? b.text : ''))].join('\n');

describe('/evacuate says what the freeze refuses', () => {
  it('on the card: mutating commands refused, not new starts only', async () => {
    const said = await chat.say('/evacuate xen1');
    expect(said).toContain('once every step has succeeded, xen1 is frozen (mutating commands refused) until /unfreeze');
    expect(said).not.toContain('for new starts');
  });

  it('in the final reply, the freeze said once', () => {
    const card: Block[] = [reply.text('once every step has succeeded, xen1 is frozen (mutating commands refused) until /unfreeze')];
    const ctx = renderContext({ plan: { steps: [...steps, readBack], summary: card }, froze: { hosts: ['xen1'], reason: 'evacuated' } });
    const said = text(evacuate.render([migrated('gateway', 'xen2', 2), listed(['mail', 'defined'])] as never, args, ctx));
    expect(said).toContain('xen1 is now frozen (mutating commands refused) until /unfreeze (reads go on; /unfreeze xen1 lifts it)');
    expect(said.match(/frozen/g)).toHaveLength(1);
  });

  it('a card made before the change (an approval pending over an upgrade) does not say the freeze a second time', () => {
    const card: Block[] = [reply.text('once every step has succeeded, xen1 is frozen for new starts until /unfreeze')];
    const ctx = renderContext({ plan: { steps: [...steps, readBack], summary: card }, froze: { hosts: ['xen1'], reason: 'evacuated' } });
    const said = text(evacuate.render([migrated('gateway', 'xen2', 2), listed(['mail', 'defined'])] as never, args, ctx));
    expect(said).not.toContain('for new starts');
    expect(said.match(/frozen/g)).toHaveLength(1);
  });
});
