import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { type OperatorsStack, sendAs, startOperators, stopOperators } from '../helpers/operators.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { twoHostFleet } from '../helpers/sim.ts';

/**
 * `/schedule add` and `/schedule remove` change what xenops posts, as `/oncall set` and `/freeze` change what it does:
 * the same chat event delivered again (a redelivered Telegram update after a leader change, a double click) must not
 * add a second schedule, and one sent long before the bot took it in is not acted on hours later.
 */
let s: OperatorsStack;
beforeAll(async () => {
  s = await startOperators(twoHostFleet(), new CaptureAdapter());
}, 60_000);
afterAll(async () => {
  if (s) await stopOperators(s);
});

const textOf = (r: Reply) =>
  [r.title, ...r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text))].join('\n');
const listed = async (id: string) => {
  await sendAs(s, 'schedule list', 'alice', id);
  return (await s.adapter.finalReply(id)).blocks.flatMap((b) => (b.type === 'table' ? b.table.rows.map((r) => String(r[0])) : []));
};

describe('/schedule add and remove delivered again', () => {
  it('adds one schedule, and the replays answer nothing (not a second id, not "No such schedule")', async () => {
    await sendAs(s, 'schedule add status every 1h', 'alice', 'sch-add-1');
    const added = await s.adapter.finalReply('sch-add-1');
    const id = /^Schedule (S[A-Z0-9]{5}) added$/.exec(added.title)?.[1] ?? '';
    expect(id).not.toBe('');
    await sendAs(s, 'schedule add status every 1h', 'alice', 'sch-add-1');
    expect(await listed('sch-list-1')).toEqual([id]);
    expect(s.adapter.finals('sch-add-1').map(textOf)).toEqual([textOf(added)]);

    await sendAs(s, `schedule remove ${id}`, 'alice', 'sch-rm-1');
    expect((await s.adapter.finalReply('sch-rm-1')).title).toBe(`Schedule ${id} removed`);
    await sendAs(s, `schedule remove ${id}`, 'alice', 'sch-rm-1');
    expect(s.adapter.finals('sch-rm-1').map((r) => r.title)).toEqual([`Schedule ${id} removed`]);
    expect(await listed('sch-list-2')).toEqual([]);
  });

  it('does not add a schedule sent hours before the bot took it in; a list that old is still answered', async () => {
    const before = await listed('sch-list-3');
    const late = { ...chatRequest('sch-late-1', 'schedule add status every 1h', 'alice'), sentAt: Date.now() - 3 * 3_600_000 };
    await s.bot.core.handle(late, targetOf(late));
    const r = await s.adapter.finalReply('sch-late-1');
    expect(r.title).toBe('Too late');
    expect(await listed('sch-list-4')).toEqual(before);
    const oldList = { ...chatRequest('sch-late-2', 'schedule list', 'alice'), sentAt: Date.now() - 3 * 3_600_000 };
    await s.bot.core.handle(oldList, targetOf(oldList));
    expect((await s.adapter.finalReply('sch-late-2')).kind).toBe('result');
  });
});
