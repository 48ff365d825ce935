import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conversation, conversation, startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * A person who may freeze some hosts only (frank: admin of xen2, nothing on xen1). README (Scope): refusals never name
 * hosts outside what the person may use.
 */
let t: TerminalStack;
let chat: Conversation;

beforeAll(async () => {
  t = await startTerminalStack((c) => ({
    ...c,
    roles: { ...c.roles, 'xen2-admin': { allow: [{ permission: 'admin', hosts: ['xen2'], domains: ['*'] }], deny: [] } },
    people: {
      ...c.people,
      frank: { displayName: 'Frank (xen2 admin)', roles: ['xen2-admin'], identities: { terminal: 'frank' }, onCall: false },
    },
  }));
  chat = conversation(t);
}, 60_000);

afterAll(async () => {
  await t?.stack.stop();
});

describe('/freeze all by an admin of some hosts', () => {
  it('freezes the hosts they may freeze, and names no other', async () => {
    const out = await chat.say('@frank /freeze all storage work');
    // Today: "Not allowed — frank may not freeze xen1: needs permission host.freeze".
    expect(out).toContain('Frozen: xen2');
    expect(out).not.toContain('xen1');
  });

  it('/unfreeze all lifts theirs, and names no other', async () => {
    const out = await chat.say('@frank /unfreeze all');
    expect(out).toContain('Unfrozen: xen2');
    expect(out).not.toContain('xen1');
  });

  it('a host they name outside their scope is still refused, and counted as a refusal', async () => {
    const counted = async () =>
      (await t.stack.bot.metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('xenops_commands_total{command="freeze"'));
    const before = await counted();
    expect(await chat.say('@frank /freeze xen1,xen2 storage work')).toContain('Not allowed');
    // The command's own refusal (the pipeline let /freeze through: frank may freeze xen2): not an error of xenops.
    expect(before.filter((l) => !l.includes('outcome="ok"'))).toEqual([]);
    expect((await counted()).filter((l) => !l.includes('outcome="ok"'))).toEqual([
      'xenops_commands_total{command="freeze",outcome="refused"} 1',
    ]);
  });
});
