import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { HostKeyError, OutcomeUnknownError, RemoteCommandError, TransportError, UserError } from '../core/errors.ts';
import { decodeJobFailure } from '../queue/jobs.ts';
import { describeFailure, toJobError } from './agent.ts';

describe('how the agent reports failures', () => {
  it.each([
    [new TransportError('xen1', 'cannot connect to xen1'), 'transport', false],
    [new HostKeyError('xen1', 'SHA256:a', 'SHA256:b'), 'hostKey', true],
    [new OutcomeUnknownError('xen1', 'lost while xl ran'), 'outcomeUnknown', true],
    [new RemoteCommandError('xen1', ['xl', 'create', '/x'], 3, 'boom'), 'remote', true],
    [new UserError('domain.notFound', 'no config for mail'), 'domain.notFound', true],
    [new UserError('domain.elsewhere', 'web is running on xen2 — starting it on xen1 would run it twice'), 'domain.elsewhere', true],
    [new UserError('locked', "web is busy: bob's /stop since 12:00:03 UTC (request r-1)"), 'locked', true],
    [new UserError('withdrawn', '/stop web on xen1 was not picked up by 12:00:03 UTC: withdrawn'), 'withdrawn', true],
    [new UserError('args.invalid', 'bad'), 'rejected', true],
  ] as const)('%s → %s (unrecoverable: %s)', (error, code, unrecoverable) => {
    const wrapped = toJobError(error);
    expect(wrapped instanceof UnrecoverableError).toBe(unrecoverable);
    expect(decodeJobFailure(wrapped.message)).toEqual({ code, message: error.message });
  });

  it('does not have BullMQ run again a read the host left unanswered for the whole command timeout', () => {
    // Reads are queued with two attempts: a second wait as long would end after the bot's read timeout.
    const timedOut = new OutcomeUnknownError('xen1', 'xl on xen1 did not finish within 30 s; its outcome is unknown');
    const read = new TransportError('xen1', 'could not read the domain list on xen1: xl on xen1 did not finish within 30 s', {
      cause: new TransportError('xen1', 'xl on xen1 did not finish within 30 s', { cause: timedOut }),
    });
    const wrapped = toJobError(read);
    expect(wrapped).toBeInstanceOf(UnrecoverableError);
    expect(decodeJobFailure(wrapped.message)).toEqual({ code: 'transport', message: read.message });
  });

  it('says plainly when Redis failed before the agent acted', () => {
    expect(describeFailure(new Error('Connection is closed.'))).toEqual({
      code: 'transport',
      message: 'the agent could not reach Redis before acting; nothing was sent',
    });
  });

  it('never leaks an unexpected error message (it may hold anything)', () => {
    expect(describeFailure(new Error('secret at /root/.ssh/id_ed25519'))).toEqual({
      code: 'internal',
      message: 'internal error in the agent (see its log)',
    });
  });

  it('decodes BullMQ reasons that are not ours as internal', () => {
    expect(decodeJobFailure('job stalled more than allowable limit')).toEqual({
      code: 'internal',
      message: 'job stalled more than allowable limit',
    });
  });
});
