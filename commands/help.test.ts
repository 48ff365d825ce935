import { describe, expect, it } from 'vitest';
import { renderTelegram } from '../src/adapters/telegram/render.ts';
import { renderForTerminal } from '../src/adapters/terminal/render.ts';
import { parseArgs } from '../src/core/args.ts';
import { commandSpecs, type LocalContext } from '../src/core/define-command.ts';
import type { Reply } from '../src/core/reply.ts';
import { displayWidth } from '../src/core/text-width.ts';
import { help } from './help.ts';
import { COMMANDS } from './index.ts';

/** /help as typed by someone who may run the given commands, rendered as the terminal shows it. */
function helpFor(text: string, allowed: readonly string[] = COMMANDS.map((c) => c.name)): string {
  return renderForTerminal(helpReply(text, allowed));
}

function helpReply(text: string, allowed: readonly string[] = COMMANDS.map((c) => c.name)): Reply {
  const ctx = { allowedCommands: () => commandSpecs(COMMANDS).filter((c) => allowed.includes(c.name)) } as unknown as LocalContext;
  return help.run(parseArgs(help, { kind: 'text', text }) as never, ctx) as Reply;
}

describe('/help', () => {
  it('lists every command one may run, as before', () => {
    const all = helpFor('');
    expect(all).toContain('ℹ Commands you can run');
    expect(all).toContain('/stop <domain> [--force] [--reason <reason>]');
    expect(all).toContain('/help [<command>]');
  });

  // Discord and Telegram show a table as monospace text: padded to /audit's usage (108 columns), every line of the
  // list was some 220 columns wide, a sideways scroll or a ragged wrap on a phone.
  it('pads the usage column no wider than a short usage: a longer one has a line of its own, its description below', () => {
    const specs = commandSpecs(COMMANDS);
    const widest = Math.max(...specs.map((c) => displayWidth(c.description)));
    const telegram = renderTelegram(helpReply(''));
    // Padded to /audit's usage, it did not fit in a Telegram message at all and came as a file.
    expect(telegram.documents).toEqual([]);
    const unescaped = telegram.html.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    for (const shown of [helpFor(''), unescaped.replace(/<\/?pre>/g, '\n')]) {
      const lines = shown.split('\n');
      const column = lines.find((l) => l.startsWith('/help '))?.indexOf('What you can run here') ?? -1;
      expect(column).toBeGreaterThan('/help [<command>]'.length);
      expect(column).toBeLessThanOrEqual(32);
      expect(lines).toContain(`${'usage'.padEnd(column)}what it does`);
      expect(lines).toContain(
        `${'/list [<host>]'.padEnd(column)}List the domains of a host, of several (separated by commas) or of the whole fleet`,
      );
      for (const c of specs) {
        const at = lines.findIndex((l) => l.startsWith(`${c.usage} `) || l === c.usage);
        if (c.usage.length <= column - 2) expect(lines[at]).toBe(`${c.usage.padEnd(column)}${c.description}`);
        else expect(lines.slice(at, at + 2)).toEqual([c.usage, `${' '.repeat(column)}${c.description}`]);
      }
      expect(Math.max(...lines.map((l) => displayWidth(l)))).toBeLessThanOrEqual(column + widest);
    }
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
