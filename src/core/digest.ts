import type { HistoryPoint } from './samples.ts';

export interface DigestFigures {
  name: string;
  peakCpuPercent: number | null;
  avgCpuPercent: number | null;
  restarts: number;
}

/**
 * A day in figures per domain, from the sampler's history (oldest first): peak and mean CPU%, and restarts — a
 * domain whose CPU time went backwards between two points, or that is back after points without it.
 */
export function digestFigures(points: readonly HistoryPoint[]): DigestFigures[] {
  const names = new Set(points.flatMap((p) => Object.keys(p.domains)));
  const out: DigestFigures[] = [];
  for (const name of names) {
    let peak: number | null = null;
    let sum = 0;
    let n = 0;
    let restarts = 0;
    let lastCpuSeconds: number | null = null;
    let seen = false;
    let absent = false;
    for (const p of points) {
      // Own keys only: in a point without it, a guest named `constructor` would read Object's.
      const f = Object.hasOwn(p.domains, name) ? p.domains[name] : undefined;
      if (!f) {
        if (seen) absent = true;
        continue;
      }
      if (absent || (lastCpuSeconds !== null && f.cpuSeconds < lastCpuSeconds)) restarts++;
      absent = false;
      seen = true;
      lastCpuSeconds = f.cpuSeconds;
      peak = peak === null ? f.cpuMax : Math.max(peak, f.cpuMax);
      sum += f.cpuAvg;
      n++;
    }
    out.push({ name, peakCpuPercent: peak, avgCpuPercent: n > 0 ? sum / n : null, restarts });
  }
  return out.sort((a, b) => (b.peakCpuPercent ?? -1) - (a.peakCpuPercent ?? -1) || a.name.localeCompare(b.name));
}
