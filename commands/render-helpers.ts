import type { DomainSummary } from '../src/agent/toolstack/types.ts';
import type { HostOutcome } from '../src/core/define-command.ts';
import type { Block } from '../src/core/reply.ts';
import type { JobOp } from '../src/queue/jobs.ts';

/** A line per host that did not answer, so a partial fan-out is never mistaken for the whole fleet. */
export function failureBlocks<Op extends JobOp>(outcomes: HostOutcome<Op>[]): Block[] {
  return outcomes.flatMap((o) =>
    o.ok
      ? []
      : [
          {
            type: 'text' as const,
            text: `⚠ ${o.host}: ${o.failure.code === 'noAnswer' ? 'no answer' : o.failure.code === 'transport' ? 'unreachable' : 'failed'} — ${o.failure.message}`,
          },
        ],
  );
}

export function describeStatus(d: DomainSummary): string {
  return d.status === 'defined' ? 'defined (not running)' : d.status;
}

export function mib(n: number | null): string {
  if (n === null) return '-';
  return n >= 1024 ? `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} GiB` : `${n} MiB`;
}

export function toneOf(outcomes: { ok: boolean }[]): 'success' | 'warning' | 'error' {
  if (outcomes.every((o) => o.ok)) return 'success';
  return outcomes.some((o) => o.ok) ? 'warning' : 'error';
}
