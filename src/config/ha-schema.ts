import { z } from 'zod';
import { yamlNumber } from './number-schema.ts';

/** The lease's default: a killed leader's standby takes over within about 7 s (the lease plus one attempt). */
export const DEFAULT_HA_LEASE_MS = 6_000;

/**
 * `bot.ha`: several bots on one Redis prefix, one of them active on Telegram and Discord (which allow one poller, one
 * gateway session) through a leader lease in Redis; the others stand by and take over when it stops or dies.
 */
export const HaSection = z
  .strictObject({
    /**
     * Take the leader lease before starting the Telegram and Discord adapters (the terminal is never leased). On by
     * default: a single bot simply holds it; after a crash a restarted bot waits up to `leaseMs` for the old lease.
     */
    enabled: z.boolean().default(true),
    /**
     * The lease's time to live: renewed every leaseMs/4; a leader that cannot renew stops its adapters leaseMs/3
     * before it could lapse; a standby tries every leaseMs/12. Takeover after a crash ≈ leaseMs + leaseMs/12.
     */
    leaseMs: yamlNumber(z.number().int().min(1_500).max(60_000)).default(DEFAULT_HA_LEASE_MS),
  })
  .default({ enabled: true, leaseMs: DEFAULT_HA_LEASE_MS });
export type HaConfig = z.infer<typeof HaSection>;
