import { describe, expect, it } from 'vitest';
import { xlListV, xlRow } from '../../../test/helpers/xl-list.ts';
import { HostKeyError, OutcomeUnknownError, TransportError } from '../../core/errors.ts';
import { CommandTimeoutError } from '../ssh/deadline.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { detectToolstack, XenToolstack } from './driver.ts';
import { describeNoAnswer, readWithRetry, timedOutAfter } from './no-answer.ts';

/** What the SSH pool throws when it stops waiting for a command, and when the connection goes while it runs. */
const timedOut = () => new OutcomeUnknownError('xen1', 'xl on xen1 did not finish within 30 s; its outcome is unknown');
const dropped = () => new OutcomeUnknownError('xen1', 'the connection to xen1 was lost while xl ran; its outcome is unknown');

describe('a command without an answer: timed out or connection lost', () => {
  it('GIVEN the pool timed out THEN says how long it waited, also through causes', () => {
    expect(timedOutAfter(timedOut())).toBe(30_000);
    expect(timedOutAfter(new TransportError('xen1', 'could not read the state of web on xen1', { cause: timedOut() }))).toBe(30_000);
    expect(
      timedOutAfter(new TransportError('xen1', 'xl on xen1 did not finish', { cause: new CommandTimeoutError('xen1', 'xl', 30_000) })),
    ).toBe(30_000);
    expect(timedOutAfter(dropped())).toBeNull();
    expect(timedOutAfter(new TransportError('xen1', 'cannot connect to xen1 (10.0.0.1:22): ECONNREFUSED'))).toBeNull();
  });

  it('GIVEN a mutating command THEN names it: "did not finish within" for a timeout, "lost the connection" otherwise', () => {
    expect(describeNoAnswer(timedOut(), 'xen1', 'xl create')).toBe('xl create did not finish within 30 s on xen1');
    expect(describeNoAnswer(dropped(), 'xen1', 'xl create')).toBe('lost the connection to xen1 while xl create ran');
    expect(describeNoAnswer(dropped(), 'xen1', 'xl shutdown', 'web was shutting down')).toBe(
      'lost the connection to xen1 while web was shutting down',
    );
  });
});

describe('reads: one more try on a lost connection, none after a timeout', () => {
  const failing = (...errors: Error[]) => {
    let calls = 0;
    const once = async (): Promise<RunResult> => {
      const e = errors[calls++];
      if (e) throw e;
      return { code: 0, stdout: 'ok', stderr: '' };
    };
    return { once, calls: () => calls };
  };

  it('GIVEN a connection lost once THEN the second try answers', async () => {
    const f = failing(dropped());
    expect((await readWithRetry('xen1', f.once)).stdout).toBe('ok');
    expect(f.calls()).toBe(2);
  });

  it('GIVEN a connection lost twice THEN fails as a read (transport), "tried twice"', async () => {
    const f = failing(dropped(), dropped());
    const error = await readWithRetry('xen1', f.once).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).not.toBeInstanceOf(OutcomeUnknownError);
    expect((error as Error).message).toBe('the connection to xen1 was lost while xl ran (tried twice)');
  });

  it('GIVEN a timeout THEN does not wait a second time, and fails as a read', async () => {
    const f = failing(timedOut());
    const error = await readWithRetry('xen1', f.once).catch((e: unknown) => e);
    expect(f.calls()).toBe(1);
    expect(error).not.toBeInstanceOf(OutcomeUnknownError);
    expect((error as Error).message).toBe('xl on xen1 did not finish within 30 s');
  });

  it('GIVEN a host key mismatch THEN never tries again', async () => {
    const f = failing(new HostKeyError('xen1', 'SHA256:a', 'SHA256:b'));
    await expect(readWithRetry('xen1', f.once)).rejects.toBeInstanceOf(HostKeyError);
    expect(f.calls()).toBe(1);
  });
});

describe('toolstack detection (toolstack: auto) is a read', () => {
  const host = (xlInfo: () => RunResult) => {
    const calls: string[] = [];
    const runner: RemoteRunner = {
      run: async (_host, words) => {
        calls.push(words.join(' '));
        return xlInfo();
      },
    };
    return { runner, calls };
  };

  it('GIVEN `xl info` hangs THEN "could not detect the toolstack", a transport failure tried once, never an unknown outcome', async () => {
    const { runner, calls } = host(() => {
      throw timedOut();
    });
    const error = await detectToolstack(runner, 'xen1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).not.toBeInstanceOf(OutcomeUnknownError);
    expect((error as Error).message).toBe(
      'could not detect the toolstack on xen1: xl on xen1 did not finish within 30 s; nothing else was run',
    );
    expect(calls).toEqual(['xl info']);
  });

  it('GIVEN the connection drops during `xl info` THEN reads it again on a fresh one', async () => {
    let first = true;
    const { runner, calls } = host(() => {
      if (!first) return { code: 0, stdout: 'host : xen1\n', stderr: '' };
      first = false;
      throw dropped();
    });
    expect(await detectToolstack(runner, 'xen1')).toBe('xl');
    expect(calls).toEqual(['xl info', 'xl info']);
  });
});

/**
 * A host where web runs (id 3) and mail is defined, and whose state never changes: the mutating command matching
 * `hang` gets no answer (`fail` says how), and every other command answers as xl does.
 */
function unanswering(hang: RegExp, fail: () => Error) {
  const calls: string[] = [];
  const runner: RemoteRunner = {
    run: async (_host, words): Promise<RunResult> => {
      const cmd = words.join(' ');
      calls.push(cmd);
      if (hang.test(cmd)) throw fail();
      if (cmd === 'xl list -v') return { code: 0, stdout: xlListV([xlRow('web', 3, 'r-----')]), stderr: '' };
      if (cmd === 'ls -1 /etc/xen/vm') return { code: 0, stdout: 'mail.cfg\nweb.cfg\n', stderr: '' };
      if (cmd === 'ls -1 /etc/xen/auto') return { code: 0, stdout: '', stderr: '' };
      if (cmd === 'ls -l /etc/xen/auto/') return { code: 0, stdout: 'total 0\n', stderr: '' };
      const cat = /^cat \/etc\/xen\/vm\/(\w+)\.cfg$/.exec(cmd);
      if (cat) return { code: 0, stdout: `name = "${cat[1]}"\n`, stderr: '' };
      if (cmd === 'xl uptime') return { code: 0, stdout: 'Name  ID Uptime\nweb    3 1 day,  2:00:00\n', stderr: '' };
      if (words[0] === 'readlink' || words[0] === 'test') return { code: 1, stdout: '', stderr: '' };
      throw new Error(`unexpected ${cmd}`);
    },
  };
  const ts = new XenToolstack(
    'xl',
    runner,
    { name: 'xen1', configDirs: ['/etc/xen/vm'], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 1 },
    { readBack: { attempts: 2, delayMs: 1 }, pollMs: 20 },
  );
  return { ts, calls };
}

const xen2 = { host: 'xen2', address: 'xen2', verify: async () => [] };

describe('a mutating command that got no answer says why: it did not finish in time, or the connection was lost', () => {
  it.each([
    [
      'start',
      (ts: XenToolstack) => ts.start('mail'),
      /^xl create /,
      'xl create',
      '; mail is not up there (now: not running (defined)), and nothing was re-run',
    ],
    [
      'stop --force',
      (ts: XenToolstack) => ts.stop('web', { force: true }),
      /^xl destroy web$/,
      'xl destroy',
      '; web is still running there, and nothing was re-run',
    ],
    [
      'pause',
      (ts: XenToolstack) => ts.pause('web', true),
      /^xl pause web$/,
      'xl pause',
      '; web reads back as running (r-----), and nothing was re-run',
    ],
    [
      'autostart on',
      (ts: XenToolstack) => ts.autostart('web', true),
      /^ln -s /,
      'ln',
      '; /etc/xen/auto/web.cfg now reads back as nothing, and nothing was re-run',
    ],
    [
      'reboot --force',
      (ts: XenToolstack) => ts.reboot('web', { force: true }),
      /^xl destroy web$/,
      'xl destroy',
      ': web is still running (id 3) on xen1 after xl destroy; nothing was created',
    ],
  ] as const)('%s', async (_name, act, hang, what, rest) => {
    for (const [fail, opening] of [
      [timedOut, `${what} did not finish within 30 s on xen1`],
      [dropped, `lost the connection to xen1 while ${what} ran`],
    ] as const) {
      const { ts, calls } = unanswering(hang, fail);
      const error = await act(ts).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect((error as Error).message).toBe(`${opening}${rest}`);
      expect(calls.filter((c) => hang.test(c))).toHaveLength(1);
    }
  });

  it('a graceful stop: watched for its whole shutdown time, then said as it is', async () => {
    const hang = /xl shutdown -w web$/;
    const { ts, calls } = unanswering(hang, timedOut);
    const error = await ts.stop('web', { force: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect((error as Error).message).toMatch(
      /^xl shutdown did not finish within 30 s on xen1; web is still running \d+ s after the shutdown was sent and may still be shutting down — check its console$/,
    );
    expect(calls.filter((c) => hang.test(c))).toHaveLength(1);
  });

  it('a reboot', async () => {
    const { ts } = unanswering(/^xl reboot web$/, timedOut);
    const error = await ts.reboot('web', { force: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect((error as Error).message).toMatch(/^xl reboot did not finish within 30 s on xen1: web did not reboot within \d+ s on xen1/);
  });

  it('a migration: read back not moved is no failure, since xl migrate may still be running on the source', async () => {
    const { ts } = unanswering(/^xl migrate /, timedOut);
    const error = await ts.migrate('web', xen2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect((error as Error).message).toBe(
      'xl migrate did not finish within 30 s on xen1; read back now: web running on xen1, absent on xen2 — xl migrate may still be running on xen1, so whether web moves is not known yet: check both hosts (xl list) before retrying; nothing was re-run',
    );
  });
});
