import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeFailure } from '../src/agent/agent.ts';
import { type HandlerContext, runHandler } from '../src/agent/handlers.ts';
import type { SshPool } from '../src/agent/ssh/pool.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { decide } from '../src/core/pipeline.ts';
import { domainSummary as dom } from '../test/helpers/domains.ts';
import { simToolstack } from '../test/helpers/drivers.ts';
import { pipelineScene } from '../test/helpers/pipeline-scene.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { type SimEnv, simBotConfig, startSimEnv, twoHostFleet } from '../test/helpers/sim.ts';

/**
 * Domain-0 has no console `xl console` / `xm console` can attach to (xenconsole: "Can't specify Domain-0"), and
 * xenconsoled keeps no guest log for it: its console is the host's own, which the operator reaches over SSH.
 */
const { ctx } = pipelineScene(['xen1', 'xen2'], { id: 'carol', allow: ['read', 'domain.console'] });
const req = (text: string) => chatRequest('r1', `console ${text}`, 'carol');
const fleet = () => {
  const f = new FleetCache(['xen1', 'xen2']);
  f.update('xen1', [dom('Domain-0', 'running'), dom('web', 'running')]);
  f.update('xen2', [dom('Domain-0', 'running'), dom('files', 'running')]);
  return f;
};
const reasonOf = (d: ReturnType<typeof decide>) => ('reason' in d ? d.reason : `not refused: ${d.kind}`);

describe('/console of Domain-0', () => {
  it('GIVEN /console xen1:Domain-0 THEN the bot refuses it itself, in one line saying why, and queues nothing', () => {
    const d = decide(ctx, req('xen1:Domain-0'), fleet(), true);
    expect(d.kind).toBe('reject');
    const reason = reasonOf(d);
    expect(reason).toMatch(/Domain-0 has no console .*it is the host itself .*the SSH session on xen1$/);
    expect(reason).not.toContain('\n');
  });

  it('GIVEN the bare name on two hosts THEN the same refusal, not "say which: xen1:Domain-0 or xen2:Domain-0"', () => {
    const reason = reasonOf(decide(ctx, req('Domain-0'), fleet(), true));
    expect(reason).toMatch(/Domain-0 has no console/);
    expect(reason).not.toMatch(/say which/);
  });

  it('GIVEN Domain-0 named by its UUID (Xen gives it the nil UUID) THEN refused once resolved, naming its host', () => {
    const f = new FleetCache(['xen1']);
    f.update('xen1', [dom('Domain-0', 'running', '00000000-0000-0000-0000-000000000000'), dom('web', 'running')]);
    const d = decide(ctx, req('00000000-0000-0000-0000-000000000000'), f, true);
    expect(d.kind).toBe('reject');
    expect(reasonOf(d)).toMatch(/Domain-0 has no console .*the SSH session on xen1$/);
  });

  it('GIVEN a guest THEN /console still goes to its host', () => {
    expect(decide(ctx, req('xen1:web'), fleet(), true)).toMatchObject({ kind: 'enqueue', targets: [{ host: 'xen1', domain: 'web' }] });
  });
});

describe('a domain.console job for Domain-0 (from a bot before this check) on the agent', () => {
  let env: SimEnv;
  let pool: SshPool;
  let hctx: HandlerContext;
  beforeAll(async () => {
    env = await startSimEnv({ fleet: twoHostFleet() });
    pool = env.pool();
    hctx = { config: simBotConfig(env, '{unused}', 'redis://127.0.0.1:1'), toolstack: async (h) => simToolstack(pool, h), op: {} };
  });
  afterAll(async () => {
    await env.stop();
  });

  it("is refused in words without running xl console there (not xenconsole's raw line)", async () => {
    const since = env.sim.log.lastSeq;
    const meta = { requestId: 'r', person: 'carol', platform: 'terminal', userId: 'carol', channelId: 'c', command: 'console' } as const;
    const failure = await runHandler({ op: 'domain.console', host: 'xen1', domain: 'Domain-0', lines: 20, meta }, hctx).then(
      () => null,
      (error: unknown) => describeFailure(error),
    );
    expect(failure?.message).toMatch(/Domain-0 has no console/);
    expect(failure?.message).not.toMatch(/Can't specify|exited/);
    expect(env.sim.log.query({ since, match: /console/ })).toEqual([]);
  });
});
