import { type AgentBeat, livenessOf } from '../queue/coordination.ts';
import { redactSecrets } from './log.ts';
import { ago } from './time-text.ts';

/**
 * Readiness, pure: each check is a name, a verdict and one line saying why; the report is what `/readyz` answers
 * (200 when every check passes, 503 naming the failing ones). The I/O that feeds the checks lives in the bot, the
 * agent and `app/ops-http.ts`.
 */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ReadinessReport {
  status: 200 | 503;
  body: { ready: boolean; failing: string[]; checks: ReadinessCheck[] };
}

export function readinessReport(checks: readonly ReadinessCheck[]): ReadinessReport {
  const failing = checks.filter((c) => !c.ok).map((c) => c.name);
  // No checks at all is not "ready": something that should have said so did not.
  const ready = checks.length > 0 && failing.length === 0;
  return { status: ready ? 200 : 503, body: { ready, failing: checks.length === 0 ? ['checks'] : failing, checks: [...checks] } };
}

/** Bot: every configured host has a live agent heartbeat (alive = a beat within staleMs, not stopped). */
export function agentsCheck(
  hosts: readonly string[],
  beats: Readonly<Record<string, AgentBeat>>,
  now: number,
  staleMs: number,
): ReadinessCheck {
  const missing: string[] = [];
  for (const host of hosts) {
    const { alive, beat } = livenessOf(beats[host], now, staleMs);
    if (alive) continue;
    if (!beat) missing.push(`${host}: no agent ever seen`);
    else if (beat.stoppedAt !== undefined) missing.push(`${host}: its agent stopped ${ago(now - beat.stoppedAt)}`);
    else missing.push(`${host}: agent last seen ${ago(now - beat.seenAt)}`);
  }
  return missing.length === 0
    ? { name: 'agents', ok: true, detail: `a live agent for each of ${hosts.length} host(s)` }
    : { name: 'agents', ok: false, detail: missing.join('; ') };
}

export interface AdapterState {
  platform: string;
  /** The adapter's start() has resolved. */
  started: boolean;
  /** Its own word on the connection (ChatAdapter.connected); undefined = it cannot tell, so started counts. */
  connected: boolean | undefined;
}

/** Bot: at least one chat adapter, each started and connected; platforms asked for but skipped are named. */
export function adaptersCheck(
  adapters: readonly AdapterState[],
  skipped: readonly { platform: string; reason: string }[] = [],
): ReadinessCheck {
  const skippedText = skipped.map((s) => `${s.platform} skipped (${s.reason})`);
  if (adapters.length === 0) return { name: 'adapters', ok: false, detail: ['no chat platform is running', ...skippedText].join('; ') };
  const down = adapters.filter((a) => !a.started || a.connected === false);
  const parts = [
    ...adapters.map((a) => `${a.platform} ${!a.started ? 'not started' : a.connected === false ? 'disconnected' : 'connected'}`),
    ...skippedText,
  ];
  return { name: 'adapters', ok: down.length === 0, detail: parts.join('; ') };
}

/** Agent: every host's worker is running (not closing, not closed). */
export function workersCheck(workers: readonly { host: string; running: boolean }[]): ReadinessCheck {
  if (workers.length === 0) return { name: 'workers', ok: false, detail: 'this agent serves no host' };
  const stopped = workers.filter((w) => !w.running).map((w) => w.host);
  return stopped.length === 0
    ? { name: 'workers', ok: true, detail: `running for ${workers.map((w) => w.host).join(', ')}` }
    : { name: 'workers', ok: false, detail: `not running for ${stopped.join(', ')}` };
}

/**
 * Runs a probe (a Redis PING…) as a check: ok with the probe's detail, or failing with its error — or with "no answer
 * within N ms" (a check must never hang /readyz while a dependency is unreachable).
 */
export async function probeCheck(name: string, probe: () => Promise<string>, timeoutMs: number): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<ReadinessCheck>((resolve) => {
    timer = setTimeout(() => resolve({ name, ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([
      probe().then(
        (detail): ReadinessCheck => ({ name, ok: true, detail }),
        (error: unknown): ReadinessCheck => ({
          name,
          ok: false,
          detail: redactSecrets(error instanceof Error ? error.message : String(error)),
        }),
      ),
      expired,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
