import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/core/args.ts';
import { commandSpec, optionSpecs, renderContext, usageOf } from '../src/core/define-command.ts';
import { autostart } from './autostart.ts';
import { COMMANDS, NON_COMMAND_FILES } from './index.ts';
import { list } from './list.ts';
import { reboot } from './reboot.ts';
import { stop } from './stop.ts';
import { uptime } from './uptime.ts';

describe('the command registry', () => {
  it('lists every command file in commands/', () => {
    const files = readdirSync(import.meta.dirname).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NON_COMMAND_FILES.includes(f),
    );
    const names = COMMANDS.map((c) => (c.name === 'console' ? 'console' : c.name));
    expect(files.map((f) => f.replace(/\.ts$/, '')).sort()).toEqual([...names].sort());
  });

  it('derives option specs from the zod schemas (required first, autocomplete on domains and hosts)', () => {
    expect(commandSpec(stop)).toMatchObject({
      usage: '/stop <domain> [--force] [--reason <reason>]',
      options: [
        { name: 'domain', type: 'string', required: true, autocomplete: 'domain' },
        { name: 'force', type: 'boolean', required: false },
        { name: 'reason', type: 'string', required: false },
      ],
    });
    expect(commandSpec(reboot)).toMatchObject({ usage: '/reboot <domain> [--force] [--reason <reason>]', risk: 'write' });
    expect(commandSpec(autostart)).toMatchObject({
      usage: '/autostart <domain> [<state>]',
      risk: 'read',
      options: [
        { name: 'domain', required: true, autocomplete: 'domain' },
        { name: 'state', type: 'string', required: false },
      ],
    });
    expect(commandSpec(uptime).options).toEqual([
      {
        name: 'host',
        description: 'a host, or hosts separated by commas (default: every host you may use)',
        type: 'string',
        required: false,
        autocomplete: 'host',
      },
    ]);
    expect(commandSpec(list).options).toEqual([
      {
        name: 'host',
        description: 'a host, or hosts separated by commas (default: every host you may use)',
        type: 'string',
        required: false,
        autocomplete: 'host',
      },
    ]);
  });
});

describe('examples and usage lines', () => {
  // /help shows a command's usage line; the examples are what the docs and menus suggest typing.
  it.each(COMMANDS.flatMap((c) => c.examples.map((e) => [e, c] as const)))('%s parses and validates', (example, command) => {
    const [name, ...words] = example.split(' ');
    expect(name).toBe(`/${command.name}`);
    expect(() => parseArgs(command, { kind: 'text', text: words.join(' ') })).not.toThrow();
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))('/%s: every name in its usage line is an argument it takes', (_name, command) => {
    const names = new Set(optionSpecs(command).map((o) => o.name));
    const usage = usageOf(command);
    expect(usage.startsWith(`/${command.name}`)).toBe(true);
    for (const [, word] of usage.matchAll(/(?:<|--)([a-z][a-z0-9-]*)/g))
      if (word !== 'until' || command.name !== 'freeze') expect(names, `${word} in ${usage}`).toContain(word);
  });
});

describe('renderers', () => {
  it('list shows defined domains and flags a host that did not answer', () => {
    const r = list.render(
      [
        {
          host: 'xen1',
          ok: true,
          result: {
            host: 'xen1',
            toolstack: 'xl',
            domains: [
              {
                name: 'mail',
                uuid: null,
                id: null,
                status: 'defined',
                flags: '',
                memoryMiB: null,
                vcpus: null,
                cpuSeconds: null,
                configPath: '/etc/xen/vm/mail.cfg',
              },
            ],
          },
        },
        { host: 'xen2', ok: false, failure: { code: 'noAnswer', message: 'no answer within 60 s' } },
      ],
      {},
      renderContext(),
    );
    expect(r.tone).toBe('warning');
    // The last column is autostart: `?` when the agent did not say (an older agent, or /etc/xen/auto unreadable).
    expect(r.blocks[0]).toMatchObject({ type: 'table', table: { rows: [['xen1', 'mail', '-', 'defined (not running)', '-', '-', '?']] } });
    expect(r.blocks[1]).toEqual({ type: 'text', text: '⚠ xen2: no answer — no answer within 60 s' });
  });

  it('stop says when nothing had to be done', () => {
    const r = stop.render(
      [{ host: 'xen1', ok: true, result: { host: 'xen1', outcome: 'already-stopped', domain: null } }],
      { domain: { domain: 'web' }, force: false },
      renderContext(),
    );
    expect(r.title).toBe('web is not running on xen1');
  });
});
