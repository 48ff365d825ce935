import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.ts';
import type { BotCore } from '../types.ts';
import { TerminalAdapter } from './index.ts';
import { lineToRequest, readTerminalLine } from './to-request.ts';

describe('readTerminalLine', () => {
  it('reads "/stop web --force" as the default user and "@bob /list xen1" as bob', () => {
    expect(readTerminalLine('/stop web --force', 'alice', 't1', 5)).toEqual({
      kind: 'request',
      request: {
        id: 't1',
        platform: 'terminal',
        actor: { platform: 'terminal', userId: 'alice', roleIds: [], displayName: 'alice' },
        channel: { id: 'terminal', kind: 'direct', name: 'terminal' },
        command: 'stop',
        args: { kind: 'text', text: 'web --force' },
        receivedAt: 5,
        source: 'command',
      },
    });
    const bob = readTerminalLine('  @bob   /LIST xen1 ', 'alice', 't2', 5, true);
    expect(bob.kind === 'request' && [bob.request.actor.userId, bob.request.command, bob.request.args]).toEqual([
      'bob',
      'list',
      { kind: 'text', text: 'xen1' },
    ]);
  });

  it('reads "@bob/list" (no space after the name) as bob running /list', () => {
    const r = readTerminalLine('@bob/list', 'alice', 't', 0, true);
    expect(r.kind === 'request' && [r.request.actor.userId, r.request.command]).toEqual(['bob', 'list']);
  });

  it('skips blank lines and # comments', () => {
    expect(readTerminalLine('   ', 'alice', 't', 0)).toEqual({ kind: 'nothing' });
    expect(readTerminalLine('# a comment', 'alice', 't', 0)).toEqual({ kind: 'nothing' });
  });

  it.each([
    ['/', 'type a command after the slash, e.g. /list — /help lists what you can run'],
    ['  /  ', 'type a command after the slash, e.g. /list — /help lists what you can run'],
    ['@bob /', 'type a command after the slash, e.g. /list — /help lists what you can run'],
    ['/ list xen1', 'no space after the slash: write "/list xen1"'],
    ['@bob', '@bob what? write "@bob /list" to speak as bob'],
    ['@bob   ', '@bob what? write "@bob /list" to speak as bob'],
    ['@', 'to speak as someone else, write their name after the @, e.g. "@bob /list"'],
    ['@ /list', 'to speak as someone else, write their name after the @, e.g. "@bob /list"'],
  ])('answers %j with a hint, not a request', (line, hint) => {
    expect(readTerminalLine(line, 'alice', 't', 0, true)).toEqual({ kind: 'hint', text: hint });
    expect(lineToRequest(line, 'alice', 't', 0, true)).toBeNull();
  });

  it.each(['@bob /approve K7Q2XM', '@bob', '@ /list'])(
    'without terminal.speakAs refuses %j: one person at a terminal cannot speak (and approve) as another',
    (line) => {
      expect(readTerminalLine(line, 'alice', 't', 0)).toEqual({
        kind: 'hint',
        text: 'you are alice here: speaking as someone else (@name) is off (terminal.speakAs)',
      });
      expect(lineToRequest(line, 'alice', 't', 0)).toBeNull();
    },
  );

  it('cuts a long name or command in a hint', () => {
    const long = 'x'.repeat(5000);
    const hint = readTerminalLine(`@${long}`, 'alice', 't', 0, true);
    expect(hint).toEqual({
      kind: 'hint',
      text: `@${'x'.repeat(40)}… what? write "@${'x'.repeat(40)}… /list" to speak as ${'x'.repeat(40)}…`,
    });
    expect(readTerminalLine(`/ ${long}`, 'alice', 't', 0)).toEqual({
      kind: 'hint',
      text: `no space after the slash: write "/${'x'.repeat(39)}…"`,
    });
  });
});

describe('TerminalAdapter', () => {
  it('prints the hint for "/" and "@bob" without handing anything to the core, then goes on', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (d: Buffer) => {
      written += d.toString();
    });
    const handled: string[] = [];
    const adapter = new TerminalAdapter({ config: { terminal: { defaultUser: 'alice', speakAs: true } } as Config, input, output });
    const core = {
      handle: async (req: { command: string; id: string }) => {
        handled.push(req.command);
        await adapter.deliver(
          { platform: 'terminal', channelId: 'terminal', requestId: req.id, state: {} },
          { kind: 'result', tone: 'success', title: 'listed', blocks: [] },
        );
      },
    } as unknown as BotCore;
    await adapter.start(core);
    input.end('/\n@bob\n/list\n');
    await adapter.done;
    expect(handled).toEqual(['list']);
    expect(written).toBe(
      [
        '> /',
        'ℹ type a command after the slash, e.g. /list — /help lists what you can run',
        '> @bob',
        'ℹ @bob what? write "@bob /list" to speak as bob',
        '> /list',
        '✔ listed',
        '',
      ].join('\n'),
    );
  });
});
