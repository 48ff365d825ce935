import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { demoChat } from '../../test/helpers/stack.ts';

/**
 * A local command that refuses in its own run (not by its arguments' schema) is on record as refused, as every other
 * refusal is — once, also when the store it asked recorded the refusal itself.
 */
const chat = demoChat();
type Entry = Record<string, unknown>;
const entries = (): Entry[] =>
  readFileSync(chat.stack.auditFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Entry);
const rejected = (command: string, args: string) =>
  entries().filter((e) => e['command'] === command && e['args'] === args && e['decision'] === 'rejected');

describe('a refusal made by a local command itself', () => {
  it('/oncall set with no person is recorded as rejected, with its reason', async () => {
    expect(await chat.say('/oncall set')).toContain('set needs a person');
    await expect.poll(() => rejected('oncall', 'set').length).toBe(1);
    expect(rejected('oncall', 'set')[0]).toMatchObject({ event: 'decision', person: 'alice' });
    expect(String(rejected('oncall', 'set')[0]?.['detail'])).toContain('set needs a person');
  });

  it('/approve of no such request is recorded as rejected', async () => {
    expect(await chat.say('@bob /approve ZZZZZZ')).toContain('No such approval request');
    await expect.poll(() => rejected('approve', 'ZZZZZZ').length).toBe(1);
    expect(rejected('approve', 'ZZZZZZ')[0]).toMatchObject({ person: 'bob' });
  });

  it('/freeze of a host that does not exist is recorded as rejected', async () => {
    expect(await chat.say('/freeze xen9 1h test')).toMatch(/✖ /);
    await expect.poll(() => rejected('freeze', 'xen9 1h test').length).toBe(1);
  });

  it('a refusal the on-call store records itself is recorded once', async () => {
    expect(await chat.say('/oncall set zed 2h')).toMatch(/✖ /);
    await expect.poll(() => rejected('oncall', 'set zed 2h').length).toBe(1);
    // Another request after it: its entries are written, so a second refusal entry would have been too.
    await chat.say('/oncall');
    await expect.poll(() => entries().filter((e) => e['command'] === 'oncall' && e['args'] === '').length).toBeGreaterThan(0);
    expect(rejected('oncall', 'set zed 2h')).toHaveLength(1);
  });
});
