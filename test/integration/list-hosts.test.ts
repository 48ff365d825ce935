import { describe, expect, it } from 'vitest';
import { demoChat } from '../helpers/stack.ts';

/**
 * `/list xen1,xen2` at the demo's terminal was refused ("not a valid host name"): /freeze takes hosts so, and an
 * operator types the same to /list. Through the whole stack (bot, Redis, agents, the simulated hosts): the hosts
 * named are listed, each once, in the config's order; a person scoped to xen2 (dave) naming xen1 too is refused as
 * for /list xen1 alone; a host that is not there is answered as /list xen9 is.
 */
const chat = demoChat((c) => ({ ...c, alerts: { ...c.alerts, enabled: false } }));

const hostsOf = (out: string) => [...new Set(out.split('\n').flatMap((l) => /^(xen\d) /.exec(l)?.[1] ?? []))];

describe('/list with hosts separated by commas', () => {
  it('GIVEN xen2,xen1 typed WHEN listed THEN both hosts, xen1 first as in the config', async () => {
    const out = await chat.say('/list xen2,xen1');
    expect(out).toContain('✔ Domains on 2 hosts');
    expect(hostsOf(out)).toEqual(['xen1', 'xen2']);
    expect(out).toMatch(/^xen1 +web /m);
    expect(out).toMatch(/^xen2 +files /m);
  });

  it('GIVEN one host named twice WHEN listed THEN that host alone, as /list xen2', async () => {
    const out = await chat.say('/list xen2,xen2');
    expect(out).toContain('✔ Domains on xen2');
    expect(hostsOf(out)).toEqual(['xen2']);
  });

  it('GIVEN dave, who may list xen2 only WHEN /list xen2,xen1 THEN refused naming xen1, in the words of /list xen1', async () => {
    const alone = await chat.say('@dave /list xen1');
    const both = await chat.say('@dave /list xen2,xen1');
    const refusal = '✖ Not allowed\ndave may not run /list: needs permission domain.list on xen1\n';
    expect(alone).toBe(`> @dave /list xen1\n${refusal}`);
    expect(both).toBe(`> @dave /list xen2,xen1\n${refusal}`);
  });

  it('GIVEN a host that is not there among them WHEN listed THEN the answer /list xen9 gets', async () => {
    expect(await chat.say('/list xen1,xen9')).toBe('> /list xen1,xen9\n✖ Cannot do that\nno host named xen9 (hosts: xen1, xen2)\n');
  });
});
