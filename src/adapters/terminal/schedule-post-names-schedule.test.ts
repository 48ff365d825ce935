import { afterEach, describe, expect, it } from 'vitest';
import { scriptedDemo, type TestStack } from '../../../test/helpers/stack.ts';

let stack: TestStack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

/**
 * A scheduled top post read like anyone's /top, and with several schedules in a channel the id to remove was nowhere
 * (a demo pass): every scheduled post ends naming its schedule and the line that stops it. A reply to a typed command
 * does not.
 */
describe('a scheduled post', () => {
  it('ends with the schedule that posted it and how to stop it; a typed /top does not', async () => {
    const run = await scriptedDemo('/top xen1\n/schedule add top xen1 every 30m\n');
    stack = run.stack;
    const id = /Schedule (S[A-Z0-9]{5}) added/.exec(run.written)?.[1];
    expect(id).toBeDefined();
    const footer = `Posted by schedule ${id}: /schedule remove ${id} stops it.`;
    const [typed, ...after] = run.written.split('Schedule ');
    expect(typed).toContain('xen1');
    expect(typed).not.toContain('Posted by schedule');
    expect(after.join('Schedule ').split(footer)).toHaveLength(2);
  }, 60_000);
});
