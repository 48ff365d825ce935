import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { type CpuTicks, parseProcStatCpu } from './parse.ts';
import { median } from './report.ts';

/**
 * What the machine itself is doing, for reading a run's figures against another's: the same fixed piece of work
 * timed in the bench's process (the kind of work xenops does most: JSON and string handling), and how much CPU the
 * hypervisor took away. Runs of the same code moved by a third between days; this says how much of that was the
 * machine.
 */

/** A /list result's size of JSON, round-tripped and scanned: about 20-60 ms on the machines this was run on. */
function fixedWork(): number {
  const domains = Array.from({ length: 21 }, (_, i) => ({
    name: `guest-${i}`,
    id: i,
    memoryMiB: 1024 + i,
    vcpus: 2,
    state: '-b----',
    cpuSeconds: 1234.5 + i,
    uuid: `0000000${i}-1111-2222-3333-444444444444`,
  }));
  let n = 0;
  for (let i = 0; i < 2_000; i++) {
    const text = JSON.stringify({ host: `xen${i}`, domains });
    n += (JSON.parse(text) as { domains: unknown[] }).domains.length + (text.match(/guest-\d+/g)?.length ?? 0);
  }
  return n;
}

/** The median time of the fixed work over `runs` runs, in ms (after one run to warm it up). */
export function cpuReferenceMs(runs = 7): number {
  fixedWork();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fixedWork();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** The machine's CPU counters now; null where /proc/stat cannot be read. */
export function cpuTicks(): CpuTicks | null {
  try {
    return parseProcStatCpu(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}
