import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/core/args.ts';
import { commandSpecs, type LocalContext, usageOf } from '../src/core/define-command.ts';
import type { Reply } from '../src/core/reply.ts';
import { help } from './help.ts';
import { COMMANDS } from './index.ts';

/**
 * `/help freeze` showed `/freeze <hosts> [<until>] <reason>` with rows for <hosts> and <reason> only: what an until
 * may be was nowhere in it. Every placeholder a usage line shows must have a row saying what it takes.
 */
function helpRows(name: string): string[][] {
  const ctx = { allowedCommands: () => commandSpecs(COMMANDS) } as unknown as LocalContext;
  const r = help.run(parseArgs(help, { kind: 'text', text: name }) as never, ctx) as Reply;
  const table = r.blocks.find((b) => b.type === 'table');
  return table?.type === 'table' ? table.table.rows : [];
}

describe('/help <command> has a row for every placeholder of its usage line', () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))('/%s', (name, command) => {
    const rows = helpRows(name);
    for (const [placeholder] of usageOf(command).matchAll(/<[a-z][a-z0-9-]*>/g)) {
      const row = rows.find(([argument]) => argument?.split(' ').includes(placeholder));
      expect(row, `${placeholder} of ${usageOf(command)}`).toBeDefined();
      expect(row?.[1]?.trim().length, `what ${placeholder} is`).toBeGreaterThan(0);
    }
  });

  it('/freeze: its until row says the time shapes it takes, the word that may go before one, and that it may be left out', () => {
    const rows = helpRows('freeze');
    const until = rows.find(([argument]) => argument === '<until>')?.[1] ?? '';
    for (const shape of ['30m', '2h', '18:00', 'tomorrow 09:00', '2025-03-04 18:00', 'until', 'for', '/unfreeze', '(optional)'])
      expect(until).toContain(shape);
    // In the order of the usage line: the until is between the hosts and the reason.
    expect(rows.map(([argument]) => argument)).toEqual(['<hosts>', '<until>', '<reason>']);
    // The reason is the why; the until has a row of its own (the reason's row says only where one goes).
    expect(rows.find(([argument]) => argument === '<reason>')?.[1]).toMatch(/^why\b/);
  });

  it('/oncall: set, its person and its until each have a row, as before', () => {
    expect(helpRows('oncall').map(([argument]) => argument)).toEqual(['<action>', '<person>', '<until>']);
  });
});
