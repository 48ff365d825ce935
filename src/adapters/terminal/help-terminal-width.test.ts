import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../commands/index.ts';
import { scriptedDemo, type TestStack } from '../../../test/helpers/stack.ts';
import { commandSpecs } from '../../core/define-command.ts';
import { displayWidth } from '../../core/text-width.ts';

let stack: TestStack | null = null;
afterAll(async () => {
  await stack?.stop();
});

/** `printf '%s\n' LINES | npm run demo` at a terminal `columns` wide: stdin a pipe, stdout the terminal. */
async function demoAt(columns: number | undefined, script: string): Promise<string> {
  const output = Object.assign(new PassThrough(), columns === undefined ? {} : { isTTY: true, columns });
  const run = await scriptedDemo(script, output);
  stack = run.stack;
  await stack.stop();
  stack = null;
  return run.written;
}

describe('/help at the terminal', () => {
  it('fits an 80-column terminal, every command and what it does still said', async () => {
    const out = await demoAt(80, '/help\n');
    const wide = out.split('\n').filter((l) => displayWidth(l) > 80);
    expect(wide).toEqual([]);
    const flat = out.replace(/\s+/g, ' ');
    for (const c of commandSpecs(COMMANDS)) {
      expect(flat).toContain(c.usage);
      expect(flat).toContain(c.description);
    }
  }, 30_000);

  it('stays one aligned row per command when the output is not a terminal (a file, grep)', async () => {
    const out = await demoAt(undefined, '/help\n');
    expect(out).toMatch(/^\/help \[<command>\] +What you can run here; \/help <command> explains one$/m);
    expect(out).toMatch(/^\/list \[<host>\] +List the domains of a host, of several \(separated by commas\) or of the whole fleet$/m);
  }, 30_000);
});
