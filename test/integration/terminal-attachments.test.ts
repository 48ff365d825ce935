import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TerminalAdapter } from '../../src/adapters/terminal/index.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'xenops-terminal-attachments-'));
const input = new PassThrough();
const output = new PassThrough();
let printed = '';
output.on('data', (d: Buffer) => {
  printed += d.toString();
});
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    makeAdapters: (config) => [new TerminalAdapter({ config, input, output, attachmentsDir: dir })],
  });
}, 60_000);

afterAll(async () => {
  input.end();
  await stack?.stop();
});

/** What the terminal printed for `line`, once its reply shows `done`. */
async function answer(line: string, done: RegExp): Promise<string> {
  const from = printed.length;
  input.write(`${line}\n`);
  await expect.poll(() => done.test(printed.slice(from)), { timeout: 20_000 }).toBe(true);
  return printed.slice(from);
}

describe('the terminal saves attachments where they can be read', () => {
  it('a console snapshot too long to show goes to a file whose path the reply prints', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `[${i}] kernel: line`);
    stack.sim.fleet.host('xen1').files.set('/var/log/xen/console/guest-web.log', `${lines.join('\n')}\n`);
    const shown = await answer('/console web 400', /\[attachment: .*\]/);
    const match = /\[attachment: (.+) \((\d+) bytes\)\]/.exec(shown);
    expect(match?.[1]).toMatch(/-web-console\.txt$/);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(match?.[1]).toBe(join(dir, files[0] ?? ''));
    const saved = readFileSync(join(dir, files[0] ?? ''), 'utf8');
    expect(saved.trimEnd().split('\n')).toHaveLength(400);
    expect(saved).toContain('[499] kernel: line');
    expect(Number(match?.[2])).toBe(Buffer.byteLength(saved));
  }, 30_000);
});
