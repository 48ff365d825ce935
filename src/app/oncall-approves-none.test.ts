import { describe, expect, it } from 'vitest';
import { oncall } from '../../commands/oncall.ts';
import { redisPrefix } from '../../test/helpers/redis-prefix.ts';
import { chatRequest } from '../../test/helpers/requests.ts';
import { renderForTerminal } from '../adapters/terminal/render.ts';
import { Config } from '../config/schema.ts';
import { parseArgs } from '../core/args.ts';
import type { Person } from '../core/authorize.ts';
import type { LocalContext } from '../core/define-command.ts';
import { OnCallStore } from './oncall-store.ts';

/**
 * `/oncall set carol 1h`, carol a viewer: accepted without a word, and then every risky request's card said "nobody on
 * call may approve this" and expired unless an admin acted. The reply warns when the person may approve nothing
 * that needs approval, judged by the approval desk's own rule (mayApprove), and says who still can.
 */
const { redis, prefix } = redisPrefix();

const host = { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` };
const base = {
  hosts: { xen1: host, xen2: host },
  roles: {
    admin: { allow: ['*'] },
    viewer: { allow: ['read'] },
    // Operations on one guest of one host: may approve there.
    'web-operator': { allow: ['read', { permission: 'operate', hosts: ['xen2'], domains: ['web'] }] },
    // May start and unpause (which need no approval), nothing else.
    starter: { allow: ['read', 'domain.start', 'domain.unpause'] },
  },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    bob: { roles: ['viewer'], onCall: true, identities: { terminal: 'bob' } },
    carol: { roles: ['viewer'], identities: { terminal: 'carol' } },
    dave: { roles: ['web-operator'], identities: { terminal: 'dave' } },
    frank: { roles: ['starter'], identities: { terminal: 'frank' } },
  },
  channels: [{ platform: 'terminal', id: '*' }],
};
const ALICE: Person = { id: 'alice', displayName: 'alice', roles: ['admin'] };

async function set(config: Config, text: string): Promise<{ kind: string; tone: string; out: string }> {
  const store = new OnCallStore(redis, prefix, config, async () => {});
  const req = chatRequest('r1', `oncall ${text}`, 'alice');
  const access = store.forRequest(req, ALICE, {
    requestId: req.id,
    person: 'alice',
    platform: req.platform,
    userId: 'alice',
    channelId: req.channel.id,
    command: 'oncall',
  });
  const ctx = { now: () => Date.now(), person: 'alice', platform: 'terminal', roles: ['admin'], oncall: access };
  const r = await oncall.run(parseArgs(oncall, { kind: 'text', text }) as never, ctx as Partial<LocalContext> as LocalContext);
  return { kind: r.kind, tone: r.tone, out: renderForTerminal(r) };
}

describe('/oncall set someone who may approve nothing that needs approval', () => {
  it('a viewer: set, with a warning naming what needs approval and who can still approve it', async () => {
    const r = await set(Config.parse(base), 'set carol 1h');
    expect(r.kind).toBe('result');
    expect(r.out).toMatch(/carol is on call until/);
    expect(r.tone).toBe('warning');
    expect(r.out).toContain(
      'carol may run none of the commands that need approval (stop, reboot, pause, migrate, evacuate, rebalance): until this ends, only alice can approve them',
    );
  });

  it('someone who may run only commands that need no approval is warned too', async () => {
    const r = await set(Config.parse(base), 'set frank 1h');
    expect(r.out).toContain('frank may run none of the commands that need approval');
  });

  it('no warning for someone who may approve somewhere: one guest on one host is enough', async () => {
    const r = await set(Config.parse(base), 'set dave 1h');
    expect(r.out).toMatch(/dave is on call until/);
    expect(r.out).not.toContain('may run none');
    expect(r.tone).not.toBe('warning');
  });

  it('follows approvals.policies: with only start needing approval, frank may approve it and carol is told so', async () => {
    const config = Config.parse({ ...base, approvals: { policies: [{ commands: ['start'] }] } });
    expect((await set(config, 'set frank 1h')).out).not.toContain('may run none');
    expect((await set(config, 'set carol 1h')).out).toContain(
      'carol may run none of the commands that need approval (start): until this ends, only alice can approve them',
    );
  });

  it('with approvals off, nothing needs approval: no warning', async () => {
    const config = Config.parse({ ...base, approvals: { enabled: false } });
    expect((await set(config, 'set carol 1h')).out).not.toContain('may run none');
  });

  it('with nobody else able to approve, says that requests will expire', async () => {
    // alice may set who is on call but not approve (no approval.grant); the request's asker is judged by its own roles.
    const config = Config.parse({
      ...base,
      roles: { ...base.roles, setter: { allow: ['read', 'oncall.set'] } },
      people: { ...base.people, alice: { roles: ['setter'], identities: { terminal: 'alice' } } },
    });
    const r = await set(config, 'set carol 1h');
    expect(r.out).toContain('until this ends, nobody can approve them: requests for them expire unanswered');
  });
});
