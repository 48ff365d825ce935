import { describe, expect, it } from 'vitest';
import { operatorsScene } from '../helpers/operators.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';

/**
 * Every reply a scoped person can ask for, read whole: wendy's roles reach the web* guests of every host, dave's the
 * host xen2 alone. Neither may learn a name outside that scope from any message they are sent ("lookups and
 * refusals never name hosts or domains outside what they may use").
 */

const scene = operatorsScene(
  {
    hosts: {
      xen1: {
        toolstack: 'xl',
        domains: [
          { name: 'web1', memoryMiB: 1024, vcpus: 1, running: true, autostart: true },
          { name: 'payroll', memoryMiB: 1024, vcpus: 1, running: true, autostart: true },
          { name: 'ledger', memoryMiB: 512, vcpus: 1, running: false, autostart: true },
        ],
      },
      xen2: {
        toolstack: 'xl',
        domains: [
          { name: 'web2', memoryMiB: 1024, vcpus: 1, running: true },
          { name: 'vaultdb', memoryMiB: 512, vcpus: 1, running: true },
        ],
      },
      vault: { toolstack: 'xl', domains: [{ name: 'hsm', memoryMiB: 512, vcpus: 1, running: true }] },
      // xl prints a state column the agent cannot read: the line is said raw, as a note, and never parsed into a row.
      xen3: {
        toolstack: 'xl',
        domains: [
          { name: 'web3', memoryMiB: 512, vcpus: 1, running: true },
          { name: 'treasury', memoryMiB: 512, vcpus: 1, running: true, state: 'zz?zzz' },
        ],
      },
    },
  },
  {
    roles: {
      webops: {
        allow: [
          { permission: 'read', domains: ['web*'] },
          { permission: 'operate', domains: ['web*'] },
          { permission: 'audit.read', domains: ['web*'] },
        ],
      },
      admin: { allow: ['*'] },
      xen2op: {
        allow: [
          { permission: 'read', hosts: ['xen2'] },
          { permission: 'operate', hosts: ['xen2'] },
        ],
      },
    },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice' } },
      wendy: { roles: ['webops'], identities: { terminal: 'wendy' } },
      dave: { roles: ['xen2op'], identities: { terminal: 'dave' } },
    },
  },
);
const { adapter } = scene;

let n = 0;
/**
 * Everything the person was sent for the request, progress included, as one text — without the words they typed
 * themselves: "no domain named payroll" tells them nothing they did not say.
 */
async function said(text: string, user: string): Promise<string> {
  const req = chatRequest(`leak-${++n}`, text, user);
  await scene.bot.core.handle(req, targetOf(req));
  await adapter.finalReply(req.id);
  const all = JSON.stringify(adapter.delivered.filter((d) => d.target.requestId === req.id).map((d) => d.reply));
  return text
    .split(/[\s:]+/)
    .slice(1)
    .reduce((t, word) => t.replaceAll(new RegExp(`\\b${word}\\b`, 'g'), '<typed>'), all);
}

const OUTSIDE_WENDY = /payroll|ledger|vaultdb|\bhsm\b|treasury/;
const OUTSIDE_DAVE = /payroll|ledger|web1|\bhsm\b|xen1|\bvault\b|treasury|xen3/;

describe('replies to wendy (web* guests on every host)', () => {
  it.each([
    'list',
    'list xen1',
    'list xen3',
    'status',
    'top',
    'top xen1',
    'uptime',
    'uptime xen1',
    'digest',
    'show web1',
    'show payroll',
    'show payrol',
    'show ledger',
    'show xen1:payroll',
    'show nosuch',
    'start ledger',
    'stop payroll',
    'console payroll',
    'autostart payroll',
    'autostart web1',
    'info xen1',
    'whoami',
    'help',
    'start web1',
  ])('/%s names none of payroll, ledger, vaultdb, hsm', async (text) => {
    expect(await said(text, 'wendy')).not.toMatch(OUTSIDE_WENDY);
  });
});

describe('/status to wendy', () => {
  it('counts on xen1 only the guest she may see (payroll runs there, ledger is stopped, Domain-0 is the host)', async () => {
    const req = chatRequest(`leak-${++n}`, 'status', 'wendy');
    await scene.bot.core.handle(req, targetOf(req));
    const final = await adapter.finalReply(req.id);
    const hosts = final.blocks.find((b) => b.type === 'table');
    const xen1 = hosts?.type === 'table' ? hosts.table.rows.find((r) => r[0] === 'xen1') : undefined;
    expect(xen1?.[2]).toBe('1 running, ↻ 1');
  });
});

describe('a guest outside the scope, asked for by name', () => {
  it('is refused exactly as one that does not exist', async () => {
    const asked = await said('show payroll', 'wendy');
    expect(asked).toBe(await said('show nosuch', 'wendy'));
  });
});

describe('replies to dave (host xen2 alone)', () => {
  it.each([
    'list',
    'status',
    'top',
    'uptime',
    'digest',
    'show payroll',
    'show web1',
    'show web',
    'start web1',
    'stop xen1:payroll',
    'audit',
    'help',
    'info xen1',
  ])('/%s names no host or guest outside xen2', async (text) => {
    expect(await said(text, 'dave')).not.toMatch(OUTSIDE_DAVE);
  });
});

describe('what an admin did, read back by wendy', () => {
  it('/audit after alice looked at, started and moved guests outside wendy’s scope names none of them', async () => {
    for (const text of ['show payroll', 'show payrol', 'stop ledgr', 'start ledger', 'list xen1', 'evacuate vault', 'rebalance'])
      await said(text, 'alice');
    const req = chatRequest(`leak-${++n}`, 'audit 50', 'wendy');
    await scene.bot.core.handle(req, targetOf(req));
    const final = await adapter.finalReply(req.id);
    const table = final.blocks.find((b) => b.type === 'table');
    const others = table?.type === 'table' ? table.table.rows.filter((r) => r[2] === 'alice') : [];
    expect(others.length).toBeGreaterThan(0);
    expect(JSON.stringify(others)).not.toMatch(OUTSIDE_WENDY);
  });
});

describe('a refusal someone else was given, read back by wendy', () => {
  // A refusal's audit entry recorded the hosts its words name but not the domain, so a domain-scoped reader was shown
  // it, its args quoting `xen1:payroll`.
  it('/audit does not show wendy that dave asked to stop xen1:payroll', async () => {
    await said('stop xen1:payroll', 'dave');
    const req = chatRequest(`leak-${++n}`, 'audit person:dave command:stop', 'wendy');
    await scene.bot.core.handle(req, targetOf(req));
    expect(JSON.stringify(await adapter.finalReply(req.id))).not.toMatch(/payroll/);
  });
});
