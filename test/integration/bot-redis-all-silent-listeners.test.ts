import { describe, expect, it } from 'vitest';
import { DEFAULT_APPROVAL_POLICIES } from '../../src/config/approvals-schema.ts';
import { Config } from '../../src/config/schema.ts';
import { FleetEventLog } from '../../src/queue/fleet-events.ts';
import { proxiedBot, SILENT_RECOVERY_MS } from '../helpers/proxied-bot.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { type SimEnv, simBotConfig } from '../helpers/sim.ts';

/**
 * Every Redis connection of the bot silent at once and left open (a NAT or firewall that forgot its flows), as in
 * bot-redis-all-silent: once the bot has replaced its own connection, the ones that only listen — the alert desk's
 * blocking reader and the subscriber hearing other bots' approval news — must not stay on the dead flows, since
 * nothing they send would find out. A terminal bot behind the proxy; beside it, straight on Redis, a Discord bot
 * where bob decides.
 */
const BOB_DISCORD = '200000000000000002';
/** What a listener replaced with the others may take past the bot's recovery: a reconnect and a read. */
const HEARD_MS = 5_000;

function configFor(env: SimEnv, prefix: string): Config {
  const c = simBotConfig(env, prefix, REDIS_URL);
  return Config.parse({
    ...c,
    roles: { ...c.roles, operator: { allow: ['operate'] } },
    people: {
      ...c.people,
      bob: { roles: ['operator'], onCall: true, identities: { terminal: 'bob', discord: BOB_DISCORD } },
    },
    channels: [...c.channels, { platform: 'discord', id: '*' }],
    // As a config that says nothing of approvals has them: /stop needs the on-call person's approval.
    approvals: { enabled: true, policies: DEFAULT_APPROVAL_POLICIES, channels: [], escalateMinutes: 5 },
    alerts: { enabled: true, channels: [{ platform: 'terminal', id: 'alerts' }], cooldownMinutes: 10 },
    bot: { ...c.bot, readTimeoutMs: 3_000, ha: { ...c.bot.ha, enabled: false } },
  });
}

const scene = proxiedBot({ config: configFor, beside: 'discord' });
const { adapter } = scene;

/** Every connection of the bot frozen open; resolves once the bot answers /list again (its own connection replaced). */
async function freezeAllAndRecover(name: string): Promise<void> {
  const frozenAt = performance.now();
  scene.proxy.freezeOpen('both');
  for (let i = 0; performance.now() - frozenAt < SILENT_RECOVERY_MS; i++) {
    const reply = await scene.ask(`${name}-${i}`, 'list xen1');
    if (reply.title === 'Domains on xen1' && reply.tone === 'success') return;
  }
  throw new Error(`the bot did not answer /list within ${SILENT_RECOVERY_MS} ms of the freeze`);
}

const alerts = () => adapter.delivered.filter((d) => d.target.channelId === 'alerts').map((d) => d.reply.title);

describe('every Redis connection of the bot gone silent at once: its listeners are replaced with it', () => {
  it('THEN an event Redis handed to the frozen reader (its answer lost) is posted once, within seconds', async () => {
    const log = new FleetEventLog(scene.redis, scene.prefix);
    const readerKey = `${scene.prefix}:fleet-events`;
    // The reader's next blocking read reaches Redis and waits there; its answer, and everything after, is lost.
    await scene.proxy.freezeAt((d) => {
      const s = d.toString('latin1');
      return /XREADGROUP/i.test(s) && /BLOCK/i.test(s) && s.includes(readerKey);
    }, 'replies');
    // Handed to that read, so pending for this bot's consumer: only its answer is lost.
    const id = await log.append({ kind: 'domain.crashed', host: 'xen2', domain: 'handed', uuid: null, byXenops: false, at: Date.now() });
    const pending = (await scene.redis.xpending(readerKey, 'alerts', '-', '+', 10)) as [string, string, number, number][];
    expect(pending.map((p) => p[0])).toContain(id);
    await freezeAllAndRecover('alerts-handed');
    await adapter.until(() => alerts().includes('handed crashed on xen2'), HEARD_MS, 'the alert handed to the frozen read');
    expect(alerts().filter((t) => t === 'handed crashed on xen2')).toHaveLength(1);
  }, 60_000);

  it('THEN a fleet event appended after the recovery is posted to the alert channel within seconds', async () => {
    const log = new FleetEventLog(scene.redis, scene.prefix);
    // The desk reads: an event before the freeze is posted.
    await log.append({ kind: 'domain.crashed', host: 'xen2', domain: 'before', uuid: null, byXenops: false, at: Date.now() });
    await adapter.until(() => alerts().includes('before crashed on xen2'), 10_000, 'the alert before the freeze');
    await freezeAllAndRecover('alerts-silent');
    await log.append({ kind: 'domain.crashed', host: 'xen2', domain: 'after', uuid: null, byXenops: false, at: Date.now() });
    await adapter.until(() => alerts().includes('after crashed on xen2'), HEARD_MS, 'the alert after the recovery');
    expect(alerts().filter((t) => t === 'after crashed on xen2')).toHaveLength(1);
  }, 60_000);

  it('THEN a request denied on another bot after the recovery has its card here say so within seconds', async () => {
    const card = await scene.ask('approval-ask', 'stop web');
    const approval = /— ([A-Z2-9]{6})/.exec(card.title)?.[1];
    expect(approval, card.title).toMatch(/^[A-Z2-9]{6}$/);
    await freezeAllAndRecover('approvals-silent');
    const denied = await scene.ask('approval-deny', `deny ${approval} not now`, { on: 'beside', user: 'bob', userId: BOB_DISCORD });
    expect(denied.title).toBe(`Denied ${approval}`);
    const told = () => adapter.delivered.some((d) => d.target.requestId === 'approval-ask' && /was denied by bob/.test(d.reply.title));
    await adapter.until(told, HEARD_MS, 'the requester card saying it was denied');
  }, 60_000);
});
