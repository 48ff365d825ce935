import { addStandardJob } from 'bullmq/dist/esm/scripts/addStandardJob-9.js';
import { moveToActive } from 'bullmq/dist/esm/scripts/moveToActive-11.js';
import { moveToDelayed } from 'bullmq/dist/esm/scripts/moveToDelayed-11.js';
import { moveToFinished } from 'bullmq/dist/esm/scripts/moveToFinished-14.js';
import { describe, expect, it } from 'vitest';
import { UNANNOUNCED_OPS, withoutAddEvents, withoutStartEvents } from './quiet-events.ts';

const xadds = (lua: string, event: string) => lua.split(`"event", "${event}"`).length - 1;

describe("BullMQ's scripts without a read's announcements", () => {
  it('guard exactly the start event in the three scripts that hand out jobs, and both add events in addStandardJob', () => {
    for (const script of [moveToActive, moveToFinished, moveToDelayed]) {
      const lua = withoutStartEvents(script.content, ['domain.list']);
      expect(xadds(lua, 'active')).toBe(1);
      expect(lua).toContain('if not ({["domain.list"] = true})[rcall("HGET", jobKey, "name")] then rcall("XADD"');
      // Nothing else changed: the completed, failed and drained events are written as before.
      expect(xadds(lua, 'completed')).toBe(xadds(script.content, 'completed'));
    }
    const add = withoutAddEvents(addStandardJob.content, ['domain.list']);
    expect(add).toContain('if not ({["domain.list"] = true})[name] then rcall("XADD", eventsKey, "*", "event", "added"');
    expect(add).toContain(
      'if not ({["domain.list"] = true})[args[3]] then rcall("XADD", eventsKey, "MAXLEN", "~", maxEvents, "*", "event", "waiting"',
    );
  });

  it('leave a script as it is when every job is announced', () => {
    expect(withoutStartEvents(moveToActive.content, [])).toBe(moveToActive.content);
    expect(withoutAddEvents(addStandardJob.content, [])).toBe(addStandardJob.content);
  });

  it('refuse a BullMQ whose scripts no longer have the lines, rather than announce every job unnoticed', () => {
    expect(() => withoutStartEvents('return 1', ['domain.list'])).toThrow(/no longer announce a job's events/);
    expect(() =>
      withoutAddEvents(
        addStandardJob.content.replace('"event", "waiting",\n      "jobId", jobId)', '"event", "queued",\n      "jobId", jobId)'),
        ['domain.list'],
      ),
    ).toThrow(/no longer announce/);
  });

  it('are the reads, never a change', () => {
    expect(UNANNOUNCED_OPS).toContain('domain.list');
    expect(UNANNOUNCED_OPS).toContain('host.status');
    for (const op of ['domain.start', 'domain.stop', 'domain.migrate', 'domain.reboot', 'domain.autostart'])
      expect(UNANNOUNCED_OPS).not.toContain(op);
  });
});
