import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RunOutcome, SshMeter } from './ssh/metered-runner.ts';

/** What the agent's metrics read from the SSH pool on scrape (SshPool.stats()). */
export type PoolStatsSource = () => Record<
  string,
  { connected: boolean; active: number; queued: number; failures: number; connects: number }
>;

/**
 * The agent's metrics, in a registry of its own: job durations by op and outcome, SSH command latency and failures
 * (through MeteredRunner), connect failures, and — read from the pool on scrape — connects (every one the pool made:
 * for jobs, for the sampler's stream, after a drop), each host's connection state, commands running and waiting; plus
 * Node's process metrics.
 */
export class AgentMetrics implements SshMeter {
  readonly registry: Registry;
  private readonly jobs: Histogram<'op' | 'outcome'>;
  private readonly sshRuns: Histogram<'host' | 'outcome'>;
  private readonly sshFailures: Counter<'host' | 'error'>;
  private readonly connectFailures: Counter<'host' | 'error'>;

  constructor(options: { registry?: Registry; pool?: PoolStatsSource; processMetrics?: boolean } = {}) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
    this.jobs = new Histogram({
      name: 'xenops_job_duration_seconds',
      help: 'Jobs processed by this agent, by op and outcome (ok, handed-back, or the failure code: transport, remote, outcomeUnknown…)',
      labelNames: ['op', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    });
    this.sshRuns = new Histogram({
      name: 'xenops_ssh_command_duration_seconds',
      help: 'Remote commands by host and outcome: ok, nonzero (ran, exited non-zero) or the error class thrown',
      labelNames: ['host', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    this.sshFailures = new Counter({
      name: 'xenops_ssh_command_failures_total',
      help: 'Remote commands that threw, by host and error class (TransportError, HostKeyError, OutcomeUnknownError, Error)',
      labelNames: ['host', 'error'],
      registers: [registry],
    });
    this.connectFailures = new Counter({
      name: 'xenops_ssh_connect_failures_total',
      help: 'Commands that could not be started (connect, auth, host key), by host and error class',
      labelNames: ['host', 'error'],
      registers: [registry],
    });
    const pool = options.pool;
    if (pool) {
      // Read from the pool's own count: connections made by the sampler's stream, or dropped and made again between
      // two commands, are never seen up around a command.
      const counted = new Map<string, number>();
      new Counter({
        name: 'xenops_ssh_connects_total',
        help: 'SSH connections established, by host: for jobs, for the sampler, and each reconnect',
        labelNames: ['host'],
        registers: [registry],
        collect() {
          for (const [host, s] of Object.entries(pool())) {
            const more = s.connects - (counted.get(host) ?? 0);
            if (more > 0) this.inc({ host }, more);
            counted.set(host, s.connects);
          }
        },
      });
      const gauge = (name: string, help: string, value: (s: ReturnType<PoolStatsSource>[string]) => number) =>
        new Gauge({
          name,
          help,
          labelNames: ['host'],
          registers: [registry],
          collect() {
            for (const [host, s] of Object.entries(pool())) this.set({ host }, value(s));
          },
        });
      gauge('xenops_ssh_connected', '1 while the SSH connection to the host is up', (s) => (s.connected ? 1 : 0));
      gauge('xenops_ssh_commands_active', 'Remote commands running on the host now', (s) => s.active);
      gauge('xenops_ssh_commands_queued', 'Remote commands waiting for a free slot on the host (ssh.maxConcurrent)', (s) => s.queued);
      gauge(
        'xenops_ssh_connect_failures_in_a_row',
        'Failed connection attempts since the last success (reconnect backoff)',
        (s) => s.failures,
      );
    }
  }

  /** One job ended (see xenops_job_duration_seconds). */
  jobDone(op: string, outcome: string, seconds: number): void {
    this.jobs.observe({ op, outcome }, seconds);
  }

  run(host: string, outcome: RunOutcome, seconds: number): void {
    this.sshRuns.observe({ host, outcome }, seconds);
    if (outcome !== 'ok' && outcome !== 'nonzero') this.sshFailures.inc({ host, error: outcome });
  }

  connectFailed(host: string, error: 'HostKeyError' | 'TransportError'): void {
    this.connectFailures.inc({ host, error });
  }
}
