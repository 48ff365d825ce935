import { describe, expect, it } from 'vitest';
import { list } from '../../../commands/list.ts';
import { type HostOutcome, renderContext } from '../../core/define-command.ts';
import { reply } from '../../core/reply.ts';
import type { DomainSummary } from '../../core/xen.ts';
import { renderForTerminal } from './render.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control bytes in the output is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function domain(name: string): DomainSummary {
  return { name, uuid: null, id: 7, status: 'running', flags: 'r-----', memoryMiB: 1024, vcpus: 1, cpuSeconds: 1, configPath: null };
}

describe('terminal rendering of host-derived text', () => {
  it('/list of a domain whose name holds escape sequences writes no control byte to the terminal', () => {
    // libxl accepts any name (`name = "…"` in a config file); `xl list` prints it and the list parser keeps it.
    const evil = 'web\u001b]52;c;cm0gLXJmIC8K\u0007\u001b]0;pwned\u0007\u001b[2J\u009b1A';
    const outcome = { host: 'xen1', ok: true, result: { host: 'xen1', domains: [domain(evil)] } } as unknown as HostOutcome<'domain.list'>;
    const out = renderForTerminal(list.render([outcome] as never, {} as never, renderContext()));
    expect(out).not.toMatch(CONTROL);
    // Still shown, escaped, so the operator sees that the name is odd.
    expect(out).toContain('web\\x1b]52;c;cm0gLXJmIC8K\\x07');
  });

  it('a carriage return in a text cannot overwrite a line with a forged one', () => {
    // e.g. a reason typed in Telegram, shown on an approval card posted to the terminal.
    const out = renderForTerminal(reply.result('Approval needed: /stop xen1:web', [reply.text('reason: tidy up\r✔ Approved by bob')]));
    expect(out).not.toMatch(CONTROL);
    expect(out.split('\n')).toContain('reason: tidy up\\x0d✔ Approved by bob');
  });

  it('keeps tabs and line breaks, and every line of a code block behind its gutter', () => {
    const out = renderForTerminal(reply.result('Console of web on xen1 (console log)', [reply.code('a\tb\nlogin:')], { tone: 'info' }));
    expect(out).toBe('ℹ Console of web on xen1 (console log)\n  | a\tb\n  | login:\n');
  });
});
