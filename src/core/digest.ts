import { migratingName } from './names.ts';
import type { HistoryPoint } from './samples.ts';

export interface DigestFigures {
  name: string;
  peakCpuPercent: number | null;
  avgCpuPercent: number | null;
  restarts: number;
}

/** Clock slack between a history point's time and a boot time read back from `xl uptime` (whole seconds). */
const UPTIME_SLACK_MS = 2_000;

/** The domains' uptime as read now (`xl uptime`), for restarts the history cannot show. */
export interface UptimeNow {
  now: number;
  seconds: Readonly<Record<string, number>>;
}

/**
 * A day in figures per domain, from the sampler's history (oldest first): peak and mean CPU%, and restarts on this
 * host. A restart is counted within a stay — the points a domain is in without a gap — when its CPU time goes
 * backwards between two points, or when its uptime (`uptime`, read now) says it booted after the point that began
 * its current stay, unless a drop in CPU time counted that boot already (a boot is counted once, whatever shows it).
 * xentop's CPU(sec) is whole seconds: an idle or young guest's never goes backwards, its uptime does.
 * A gap is not a restart: a guest migrated away and back (or arrived) is a new domain here, with a new domain id, its
 * uptime and CPU time counting from then — as it would be stopped and started; the history cannot tell those apart.
 * xl's migration names (`web--incoming`, `web--migratedaway`) never count.
 */
export function digestFigures(points: readonly HistoryPoint[], uptime: UptimeNow | null = null): DigestFigures[] {
  const names = new Set(points.flatMap((p) => Object.keys(p.domains)));
  const out: DigestFigures[] = [];
  for (const name of names) {
    let peak: number | null = null;
    let sum = 0;
    let n = 0;
    let restarts = 0;
    let lastCpuSeconds: number | null = null;
    /** When the current stay began (its first point), and when the last restart counted in it was seen. */
    let stayFrom: number | null = null;
    let lastRestartAt: number | null = null;
    for (const p of points) {
      // Own keys only: in a point without it, a guest named `constructor` would read Object's.
      const f = Object.hasOwn(p.domains, name) ? p.domains[name] : undefined;
      if (!f) {
        lastCpuSeconds = null;
        stayFrom = null;
        lastRestartAt = null;
        continue;
      }
      if (lastCpuSeconds !== null && f.cpuSeconds < lastCpuSeconds) {
        restarts++;
        lastRestartAt = p.at;
      }
      stayFrom ??= p.at;
      lastCpuSeconds = f.cpuSeconds;
      peak = peak === null ? f.cpuMax : Math.max(peak, f.cpuMax);
      sum += f.cpuAvg;
      n++;
    }
    // Its stay goes on now (in the last point) and it booted after that stay's first point: a restart the CPU time
    // did not show — or showed already, when it booted before the point that counted one.
    const last = points[points.length - 1];
    const upSeconds = uptime && Object.hasOwn(uptime.seconds, name) ? uptime.seconds[name] : undefined;
    if (uptime && upSeconds !== undefined && stayFrom !== null && last && Object.hasOwn(last.domains, name)) {
      const bootedAt = uptime.now - upSeconds * 1000;
      if (bootedAt > (lastRestartAt ?? stayFrom) + UPTIME_SLACK_MS) restarts++;
    }
    if (migratingName(name) !== null) restarts = 0;
    out.push({ name, peakCpuPercent: peak, avgCpuPercent: n > 0 ? sum / n : null, restarts });
  }
  return out.sort((a, b) => (b.peakCpuPercent ?? -1) - (a.peakCpuPercent ?? -1) || a.name.localeCompare(b.name));
}
