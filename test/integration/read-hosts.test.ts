import { describe, expect, it } from 'vitest';
import { demoChat } from '../helpers/stack.ts';

/**
 * `/top xen1,xen2`, `/uptime xen1,xen2` and `/digest xen1,xen2` at the demo's terminal were refused ("not a valid host
 * name"), though /list takes hosts so. Through the whole stack (bot, Redis, agents, the simulated hosts): the hosts
 * named are read, in the config's order; dave, scoped to xen2, naming xen1 too is refused as for xen1 alone; a
 * schedule of top takes one host or none, and says so of a list; `/list xen1 xen2` says where the comma goes.
 */
const chat = demoChat((c) => ({ ...c, alerts: { ...c.alerts, enabled: false } }));

const hostsOf = (out: string) => [...new Set(out.split('\n').flatMap((l) => /^(xen\d) /.exec(l)?.[1] ?? []))];

describe('the read commands with hosts separated by commas', () => {
  it('GIVEN /top xen2,xen1 THEN both hosts, xen1 first as in the config', async () => {
    const out = await chat.say('/top xen2,xen1');
    expect(out).toContain('✔ top on 2 hosts');
    expect(hostsOf(out)).toEqual(['xen1', 'xen2']);
  });

  it('GIVEN /uptime xen2,xen1 THEN both hosts, xen1 first', async () => {
    const out = await chat.say('/uptime xen2,xen1');
    expect(out).toContain('✔ Uptime on 2 hosts');
    expect(hostsOf(out)).toEqual(['xen1', 'xen2']);
  });

  it('GIVEN /digest xen2,xen1 THEN both hosts', async () => {
    const out = await chat.say('/digest xen2,xen1');
    expect(out).toMatch(/xen1: (\d+ history points over|no history points)/);
    expect(out).toMatch(/xen2: (\d+ history points over|no history points)/);
  });

  it.each(['top', 'uptime', 'digest'])('GIVEN dave, who may read xen2 only WHEN /%s xen2,xen1 THEN refused naming xen1', async (name) => {
    const alone = await chat.say(`@dave /${name} xen1`);
    const both = await chat.say(`@dave /${name} xen2,xen1`);
    const refusal = `✖ Not allowed\ndave may not run /${name}: needs permission host.${name} on xen1\n`;
    expect(alone).toBe(`> @dave /${name} xen1\n${refusal}`);
    expect(both).toBe(`> @dave /${name} xen2,xen1\n${refusal}`);
  });

  it('GIVEN /schedule add top xen1,xen2 THEN refused, saying a schedule takes one host or none', async () => {
    const out = await chat.say('/schedule add top xen1,xen2 every 10m');
    expect(out).toContain('✖ Bad arguments for /schedule');
    expect(out).toContain('a schedule posts top for one host or for every host you may use, not "xen1,xen2": add one schedule per host');
    expect(await chat.say('/schedule list')).not.toContain('xen1,xen2');
  });

  it('GIVEN /list xen1 xen2 THEN refused, saying the line with a comma', async () => {
    expect(await chat.say('/list xen1 xen2')).toBe(
      '> /list xen1 xen2\n✖ Bad arguments for /list\nunexpected argument "xen2" (hosts go separated by commas: /list xen1,xen2)\n  | /list [<host>]\n',
    );
  });
});
