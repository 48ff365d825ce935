import { describe, expect, it } from 'vitest';
import { consoleCommand } from '../../../commands/console.ts';
import { renderContext } from '../../core/define-command.ts';
import { RemoteCommandError } from '../../core/errors.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';
import type { ToolstackKind } from './types.ts';

/**
 * A Dom0 scripted for /console: with `log`, xenconsoled's log for `web` holds it (test -r succeeds, tail prints it);
 * without, `test -r` fails and the time-boxed attach answers `attach`.
 */
function host(kind: ToolstackKind, console: { log: string } | { attach: RunResult }) {
  const calls: string[] = [];
  const runner: RemoteRunner = {
    run: async (_h, words): Promise<RunResult> => {
      calls.push(words.join(' '));
      if (words[0] === 'test') return { code: 'log' in console ? 0 : 1, stdout: '', stderr: '' };
      if (words[0] === 'tail' && 'log' in console && words.at(-1) === '/var/log/xen/console/guest-web.log')
        return { code: 0, stdout: console.log, stderr: '' };
      if (words[0] === 'timeout' && 'attach' in console) return console.attach;
      return { code: 127, stdout: '', stderr: `unexpected ${words.join(' ')}\n` };
    },
  };
  const ts = new XenToolstack(kind, runner, {
    name: 'xen1',
    configDirs: ['/etc/xen'],
    consoleLogDir: '/var/log/xen/console',
    shutdownTimeoutSeconds: 5,
  });
  return { ts, calls };
}

/** /console web as an operator sees it: the title and the code block's lines. */
async function consoleReply(ts: XenToolstack): Promise<{ title: string; lines: string[] }> {
  const result = await ts.consoleSnapshot('web', 20);
  const reply = consoleCommand.render(
    [{ host: 'xen1', ok: true, result: { host: 'xen1', domain: 'web', ...result } }],
    { domain: { domain: 'web' }, lines: 20 },
    renderContext(),
  );
  const code = reply.blocks.find((b) => b.type === 'code');
  return { title: reply.title, lines: code?.type === 'code' ? code.text.split('\n') : [] };
}

describe('/console of escape sequences a real guest prints', () => {
  it('shows apt/dpkg progress (ESC 7 / ESC 8 save and restore cursor) without stray "7" and "8"', async () => {
    const log =
      'Setting up libc6:amd64 (2.36-9) ...\n' +
      '\u001b7\u001b[0;23r\u001b8\u001b[1A\n' +
      '\u001b7\u001b[24;0f\u001b[42m\u001b[30mProgress: [ 40%]\u001b[49m\u001b[39m [#######.........] \u001b8\n' +
      'Unpacking openssl (3.0.11-1) ...\n';
    const { lines } = await consoleReply(host('xl', { log }).ts);
    expect(lines).toEqual([
      'Setting up libc6:amd64 (2.36-9) ...',
      '',
      'Progress: [ 40%] [#######.........]',
      'Unpacking openssl (3.0.11-1) ...',
    ]);
  });

  it('shows a console after a terminal reset (ESC c, as `reset` prints) without a stray "c"', async () => {
    const { lines } = await consoleReply(host('xl', { log: '\u001bcDebian GNU/Linux 12 web hvc0\n\nweb login: \n' }).ts);
    expect(lines).toEqual(['Debian GNU/Linux 12 web hvc0', '', 'web login:']);
  });
});

describe('/console fallback attach (no xenconsoled log)', () => {
  it('on xm, an attach that ended by itself with nothing (stdin is /dev/null) is an error naming xenconsoled logging, not "(no output)"', async () => {
    // xen-toolstack.md §5: `xm console` and xenconsole before Xen 4.6 exit at once when stdin is not a terminal.
    const { ts, calls } = host('xm', { attach: { code: 0, stdout: '', stderr: '' } });
    const error = await ts.consoleSnapshot('web', 20).catch((e: unknown) => e);
    expect(calls).toContain('timeout 3 xm console web');
    expect(error).toBeInstanceOf(RemoteCommandError);
    const message = (error as Error).message;
    expect(message).toContain('no console snapshot of web could be taken on xen1');
    expect(message).toContain('/var/log/xen/console/guest-web.log');
    expect(message).toContain('XENCONSOLED_TRACE=guest');
    expect(message).toContain('xenconsoled --log=guest');
  });

  it('an attach that ended by itself after printing something shows what it printed', async () => {
    const { ts } = host('xm', { attach: { code: 0, stdout: 'web login: \r\n', stderr: '' } });
    expect(await consoleReply(ts)).toEqual({ title: 'Console of web on xen1 (live attach)', lines: ['web login:'] });
  });

  it('an attach that `timeout` ended (124) with nothing printed is a quiet console: "(no output)"', async () => {
    const { ts } = host('xl', { attach: { code: 124, stdout: '', stderr: '' } });
    expect(await consoleReply(ts)).toEqual({ title: 'Console of web on xen1 (live attach)', lines: ['(no output)'] });
  });
});
