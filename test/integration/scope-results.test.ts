import { describe, expect, it } from 'vitest';
import { operatorsScene } from '../helpers/operators.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';

/**
 * What a person scoped to one host, or to some domains of it, is shown while a command runs and in its result. dave may operate on xen2 only; the fleet
 * also has xen1 and `vault`, which he must never see named ("lookups and refusals never name hosts … outside what
 * they may use"; agents' messages name them "another host").
 */

const scene = operatorsScene(
  {
    hosts: {
      xen1: { toolstack: 'xl', domains: [{ name: 'web', memoryMiB: 1024, vcpus: 1, running: true }] },
      xen2: {
        toolstack: 'xl',
        domains: [
          { name: 'files', memoryMiB: 1024, vcpus: 1, running: true },
          { name: 'backup', memoryMiB: 512, vcpus: 1, running: false },
        ],
      },
      vault: { toolstack: 'xl', domains: [{ name: 'hsm', memoryMiB: 512, vcpus: 1, running: true }] },
    },
  },
  {
    roles: {
      xen2op: { allow: [{ permission: 'operate', hosts: ['xen2'] }] },
      // The example config's web-team pattern: every domain permission, for some domains of one host only.
      filesteam: { allow: [{ permission: 'domain.*', hosts: ['xen2'], domains: ['files*'] }] },
      // Every domain of xen2 but one, by a deny rule.
      nobackup: {
        allow: [{ permission: 'operate', hosts: ['xen2'] }],
        deny: [{ permission: 'domain.*', hosts: ['*'], domains: ['backup'] }],
      },
    },
    people: {
      dave: { roles: ['xen2op'], identities: { terminal: 'dave' } },
      wendy: { roles: ['filesteam'], identities: { terminal: 'wendy' } },
      vera: { roles: ['nobackup'], identities: { terminal: 'vera' } },
    },
  },
);
const { adapter } = scene;

describe('progress shown to a person scoped to one host', () => {
  it('/start on xen2 by dave never names xen1 or vault in any message he is sent', async () => {
    const req = chatRequest('scope-results-1', 'start xen2:backup', 'dave');
    await scene.bot.core.handle(req, targetOf(req));
    const final = await adapter.finalReply(req.id);
    expect(final.title).toBe('backup started on xen2');
    const mine = adapter.delivered.filter((d) => d.target.requestId === req.id).map((d) => JSON.stringify(d.reply));
    // Was shown on the way: "checking xen1, vault for backup" (the agent's progress, unredacted).
    expect(mine.filter((text) => /\b(xen1|vault)\b/.test(text))).toEqual([]);
  }, 60_000);
});

describe('domain-scoped permissions and fleet lookups', () => {
  it('/list xen2 by someone allowed only files* on xen2 does not name backup', async () => {
    // wendy may not touch backup: /show backup is refused.
    const show = chatRequest('scope-results-2', 'show xen2:backup', 'wendy');
    await scene.bot.core.handle(show, targetOf(show));
    expect((await adapter.finalReply(show.id)).title).toBe('Not allowed');
    const req = chatRequest('scope-results-3', 'list xen2', 'wendy');
    await scene.bot.core.handle(req, targetOf(req));
    const final = await adapter.finalReply(req.id);
    expect(final.title).toBe('Domains on xen2');
    expect(JSON.stringify(final)).toContain('files');
    // It showed her every domain of xen2 (and Domain-0), backup included.
    expect(JSON.stringify(final)).not.toContain('backup');
    expect(JSON.stringify(final)).not.toContain('Domain-0');
  }, 60_000);
});

describe('a domain left out by a deny rule', () => {
  it('is not in /list either (as it is refused to /show)', async () => {
    const req = chatRequest('scope-results-5', 'list xen2', 'vera');
    await scene.bot.core.handle(req, targetOf(req));
    const final = await adapter.finalReply(req.id);
    expect(final.title).toBe('Domains on xen2');
    expect(JSON.stringify(final)).toContain('files');
    expect(JSON.stringify(final)).not.toContain('backup');
  }, 60_000);
});
