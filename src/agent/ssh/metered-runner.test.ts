import { describe, expect, it } from 'vitest';
import { HostKeyError, OutcomeUnknownError, TransportError } from '../../core/errors.ts';
import { AgentMetrics } from '../metrics.ts';
import { MeteredRunner, type SshMeter } from './metered-runner.ts';
import type { RemoteRunner, RunOptions, RunResult, StreamOptions, StreamResult } from './types.ts';

/** A runner whose next results are scripted. */
class ScriptedRunner implements RemoteRunner {
  readonly calls: { host: string; argv: readonly string[]; options?: RunOptions }[] = [];
  constructor(private readonly script: (() => Promise<RunResult>)[]) {}
  async run(host: string, argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    this.calls.push({ host, argv, ...(options ? { options } : {}) });
    const next = this.script.shift();
    if (!next) throw new Error('script exhausted');
    return next();
  }
}

const recorder = () => {
  const events: string[] = [];
  const meter: SshMeter = {
    run: (host, outcome, seconds) => events.push(`run ${host} ${outcome} ${seconds}`),
    connectFailed: (host, error) => events.push(`connectFailed ${host} ${error}`),
  };
  return { events, meter };
};

describe('MeteredRunner', () => {
  it('passes results and errors through unchanged and reports latency, outcome and error class', async () => {
    const result = { code: 0, stdout: 'ok', stderr: '' };
    const lost = new OutcomeUnknownError('xen1', 'connection lost while xl shutdown ran');
    const inner = new ScriptedRunner([
      async () => result,
      async () => ({ code: 3, stdout: '', stderr: 'no such domain' }),
      async () => {
        throw lost;
      },
      async () => {
        throw new TransportError('xen1', 'cannot connect to xen1');
      },
      async () => {
        throw new HostKeyError('xen1', null, 'SHA256:x');
      },
    ]);
    let clock = 0;
    const { events, meter } = recorder();
    const runner = new MeteredRunner(inner, meter, () => (clock += 250));
    const signal = new AbortController().signal;
    expect(await runner.run('xen1', ['xl', 'list'], { timeoutMs: 5, signal })).toBe(result);
    expect(inner.calls[0]).toEqual({ host: 'xen1', argv: ['xl', 'list'], options: { timeoutMs: 5, signal } });
    expect((await runner.run('xen1', ['xl', 'info'])).code).toBe(3);
    await expect(runner.run('xen1', ['xl', 'shutdown', 'web'])).rejects.toBe(lost);
    await expect(runner.run('xen1', ['xl', 'list'])).rejects.toThrow('cannot connect to xen1');
    await expect(runner.run('xen1', ['xl', 'list'])).rejects.toBeInstanceOf(HostKeyError);
    expect(events).toEqual([
      'run xen1 ok 0.25',
      'run xen1 nonzero 0.25',
      'run xen1 OutcomeUnknownError 0.25',
      'run xen1 TransportError 0.25',
      'connectFailed xen1 TransportError',
      'run xen1 HostKeyError 0.25',
      'connectFailed xen1 HostKeyError',
    ]);
  });

  it('streams only when the wrapped runner does, and counts a stream that cannot start', async () => {
    const plain = new MeteredRunner(new ScriptedRunner([]), recorder().meter);
    expect(plain.stream).toBeUndefined();
    const { events, meter } = recorder();
    const streaming: RemoteRunner = {
      run: async () => ({ code: 0, stdout: '', stderr: '' }),
      stream: async (host: string, _argv: readonly string[], options: StreamOptions): Promise<StreamResult> => {
        if (host === 'xen2') throw new TransportError('xen2', 'cannot connect to xen2');
        options.onStdout('sample\n');
        return { code: null };
      },
    };
    const runner = new MeteredRunner(streaming, meter);
    const chunks: string[] = [];
    const signal = new AbortController().signal;
    expect(await runner.stream?.('xen1', ['xentop'], { onStdout: (c) => chunks.push(c), signal })).toEqual({ code: null });
    expect(chunks).toEqual(['sample\n']);
    await expect(runner.stream?.('xen2', ['xentop'], { onStdout: () => {}, signal })).rejects.toThrow('cannot connect to xen2');
    expect(events).toEqual(['connectFailed xen2 TransportError']);
  });

  it('batches only when the wrapped runner does: a batch is one call through, metered once by its first command', async () => {
    expect(new MeteredRunner(new ScriptedRunner([]), recorder().meter).runBatch).toBeUndefined();
    const batches: (readonly (readonly string[])[])[] = [];
    let clock = 0;
    const batching: RemoteRunner = {
      run: async () => {
        throw new Error('a batch must not become single runs');
      },
      runBatch: async (host, argvs) => {
        batches.push(argvs);
        if (host === 'xen2') throw new TransportError('xen2', 'cannot connect to xen2');
        return argvs.map((a) => ({ code: a[0] === 'ls' ? 2 : 0, stdout: a.join(' '), stderr: '' }));
      },
    };
    const { events, meter } = recorder();
    const runner = new MeteredRunner(batching, meter, () => (clock += 100));
    const list = [
      ['xl', 'list'],
      ['ls', '-1', '/etc/xen/vm'],
    ];
    expect(await runner.runBatch?.('xen1', list)).toEqual([
      { code: 0, stdout: 'xl list', stderr: '' },
      { code: 2, stdout: 'ls -1 /etc/xen/vm', stderr: '' },
    ]);
    expect(batches).toEqual([list]);
    expect(
      await runner.runBatch?.('xen1', [
        ['ls', '-l', '/etc/xen/auto/'],
        ['xl', 'list'],
      ]),
    ).toHaveLength(2);
    await expect(runner.runBatch?.('xen2', list)).rejects.toThrow('cannot connect to xen2');
    expect(events).toEqual(['run xen1 ok 0.1', 'run xen1 nonzero 0.1', 'run xen2 TransportError 0.1', 'connectFailed xen2 TransportError']);
  });

  it("feeds the agent's metrics: latency histogram, failures by class, connects, pool gauges", async () => {
    let connects = 1;
    const metrics = new AgentMetrics({
      processMetrics: false,
      pool: () => ({ xen1: { connected: true, active: 1, queued: 2, failures: 0, connects } }),
    });
    const inner = new ScriptedRunner([
      async () => ({ code: 0, stdout: '', stderr: '' }),
      async () => {
        throw new OutcomeUnknownError('xen1', 'lost');
      },
    ]);
    const runner = new MeteredRunner(inner, metrics);
    await runner.run('xen1', ['xl', 'list']);
    await runner.run('xen1', ['xl', 'list']).catch(() => {});
    metrics.jobDone('list', 'ok', 0.2);
    const text = await metrics.registry.metrics();
    expect(text).toContain('xenops_ssh_command_duration_seconds_count{host="xen1",outcome="ok"} 1');
    expect(text).toContain('xenops_ssh_command_failures_total{host="xen1",error="OutcomeUnknownError"} 1');
    expect(text).toContain('xenops_ssh_connects_total{host="xen1"} 1');
    expect(text).toContain('xenops_ssh_connected{host="xen1"} 1');
    expect(text).toContain('xenops_ssh_commands_queued{host="xen1"} 2');
    expect(text).toContain('xenops_job_duration_seconds_count{op="list",outcome="ok"} 1');
    // The pool's count, however many connections it made between two scrapes (none seen around a command).
    connects = 4;
    expect(await metrics.registry.metrics()).toContain('xenops_ssh_connects_total{host="xen1"} 4');
    expect(await metrics.registry.metrics()).toContain('xenops_ssh_connects_total{host="xen1"} 4');
  });
});
