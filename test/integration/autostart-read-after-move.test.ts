import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * After web moved from xen1 to xen2, its autostart link stays on xen1. `/autostart web on` knew (refused: it would boot
 * twice), while `/autostart web` said only "web does not start with xen2 — nothing for it in /etc/xen/auto": the read
 * must say what `on` knows — web still starts with xen1, where it no longer runs, and boots there too after xen1's next
 * boot. The bot, the agent and the simulated demo fleet; approvals off (the migration is not what is tested).
 */
let stack: TestStack;
let adapter: CaptureAdapter;
let n = 0;

beforeAll(async () => {
  stack = await startTestStack({
    makeAdapters: () => {
      adapter = new CaptureAdapter('terminal');
      return [adapter];
    },
    adjustConfig: (c) => ({ ...c, approvals: { ...c.approvals, enabled: false }, sampling: { ...c.sampling, enabled: false } }),
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function ask(line: string, user = 'alice'): Promise<Reply> {
  const req = chatRequest(`am-${++n}-${Math.random().toString(36).slice(2, 6)}`, line, user);
  await stack.bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

const body = (r: Reply) => r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : 'text' in b ? b.text : '')).join('\n');

describe('/autostart web after web moved from xen1 to xen2', () => {
  it('says web still starts with xen1, where it no longer runs — as /autostart web on refuses for', async () => {
    expect((await ask('autostart web on')).title).toBe('↻ web now starts with xen1');
    const moved = await ask('migrate web xen2');
    expect(moved.title).toMatch(/web.*xen2/);
    expect(stack.sim.state().hosts['xen1']?.links).toContainEqual({ path: '/etc/xen/auto/web.cfg', target: '/etc/xen/vm/web.cfg' });
    await ask('list');

    const on = await ask('autostart web on');
    expect(body(on)).toContain('web already starts with xen1');

    const read = await ask('autostart web');
    const said = `${read.title}\n${body(read)}`;
    expect(said).toContain('web still starts with xen1, where it no longer runs: it boots there too after xen1 boots again');
    expect(said).toContain('web does not start with xen2');
    expect(read.tone).toBe('warning');
    // What xen2 said is still shown.
    expect(said).toContain('nothing for it in /etc/xen/auto');
  });
});
