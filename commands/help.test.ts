import { describe, expect, it } from 'vitest';
import { renderForTerminal } from '../src/adapters/terminal/render.ts';
import { parseArgs } from '../src/core/args.ts';
import { commandSpecs, type LocalContext } from '../src/core/define-command.ts';
import { help } from './help.ts';
import { COMMANDS } from './index.ts';

/** /help as typed by someone who may run the given commands, rendered as the terminal shows it. */
function helpFor(text: string, allowed: readonly string[] = COMMANDS.map((c) => c.name)): string {
  const ctx = { allowedCommands: () => commandSpecs(COMMANDS).filter((c) => allowed.includes(c.name)) } as unknown as LocalContext;
  const args = parseArgs(help, { kind: 'text', text });
  return renderForTerminal(help.run(args as never, ctx) as never);
}

describe('/help', () => {
  it('lists every command one may run, as before', () => {
    const all = helpFor('');
    expect(all).toContain('ℹ Commands you can run');
    expect(all).toContain('/stop <domain> [--force] [--reason <reason>]');
    expect(all).toContain('/help [<command>]');
  });

  it('explains one command: its usage, what it does and each argument, with or without its slash', () => {
    for (const typed of ['stop', '/stop', 'STOP']) {
      const one = helpFor(typed);
      expect(one).toContain('ℹ /stop <domain> [--force] [--reason <reason>]');
      expect(one).toContain('Shut a domain down gracefully; force destroys it at once');
      expect(one).toMatch(/<domain>\s+\S/);
      expect(one).toMatch(/--force\s+\S/);
      expect(one).toMatch(/--reason <reason>\s+why/);
    }
  });

  it('refuses, with the usage, a command that is not there or not one the person may run', () => {
    expect(helpFor('lsit')).toMatch(/✖ .*\nthere is no \/lsit you can run here — \/help lists them\n {2}\| \/help \[<command>\]/);
    expect(helpFor('stop', ['help', 'list'])).toContain('there is no /stop you can run here');
  });
});
