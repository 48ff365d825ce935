import { describe, expect, it } from 'vitest';
import { consoleCommand } from '../../../commands/console.ts';
import { renderContext } from '../../core/define-command.ts';
import { reply } from '../../core/reply.ts';
import { renderDiscord } from './render.ts';

const MiB = 1024 * 1024;

/** /console web 2000 as the bot renders it, for the lines the agent read from xenconsoled's log. */
function consoleReply(lines: string[]) {
  return consoleCommand.render(
    [{ host: 'xen1', ok: true, result: { host: 'xen1', domain: 'web', source: 'log', lines } } as never],
    { domain: { domain: 'web' }, lines: 2000 } as never,
    renderContext(),
  );
}

describe('Discord upload limits', () => {
  it('/console of a guest that printed a 12 MiB line sends no file Discord refuses, and says what was left out', () => {
    // A compromised (or looping) guest writes one huge line without a newline: `tail -n 2000` returns it whole.
    const lines = [...Array.from({ length: 30 }, (_, i) => `boot ${i}`), 'A'.repeat(12 * MiB)];
    const p = renderDiscord(consoleReply(lines));
    // Discord refuses the whole message (413) for a file over 10 MiB: nothing, not even the title, would arrive.
    expect(p.files.every((f) => f.data.length <= 10 * MiB)).toBe(true);
    expect(p.files.reduce((n, f) => n + f.data.length, 0)).toBeLessThanOrEqual(25 * MiB);
    const description = p.embeds[0]?.description ?? '';
    expect(description).toContain('web-console.txt');
    expect(description).toMatch(/not sent, too large for Discord/);
    // It does not claim as attached a file that was left out.
    expect(description).not.toMatch(/is attached as/);
  });

  it('files that fit one by one but not together (25 MiB a message): the later ones are named, the message goes out', () => {
    const big = (i: number) => ({ name: `part${i}.txt`, contentType: 'text/plain', data: 'x'.repeat(9 * MiB) });
    const p = renderDiscord(reply.result('parts', [reply.text('three parts')], { attachments: [big(1), big(2), big(3)] }));
    expect(p.files.map((f) => f.name)).toEqual(['part1.txt', 'part2.txt']);
    expect(p.embeds[0]?.description).toMatch(
      /^1 attachment not sent, too large for Discord \(10 MiB a file, 25 MiB a message\): part3\.txt \(9\.0 MiB\)\nthree parts$/,
    );
  });

  it('a console snapshot within the limits is sent whole, as before', () => {
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i}`);
    const p = renderDiscord(consoleReply(lines));
    expect(p.files.map((f) => f.name)).toEqual(['web-console.txt']);
    expect(p.files[0]?.data.toString()).toBe(`${lines.join('\n')}\n`);
    expect(p.embeds[0]?.description).toContain('line 399');
  });
});
