import { describe, expect, it } from 'vitest';
import { demoChat } from '../test/helpers/stack.ts';

/**
 * `/audit user:bob` was answered `n must be a whole number from 1 to 200, got "user:bob"`: a filter /audit does not
 * have is said as such, with the usage that lists the ones it has.
 */
const chat = demoChat();

describe('/audit with a filter it does not have', () => {
  it('names the unknown option and shows the usage', async () => {
    const said = await chat.say('/audit user:bob');
    expect(said).toBe(
      [
        '> /audit user:bob',
        '✖ Bad arguments for /audit',
        'unknown option user',
        '  | /audit [<n>] [--person <person>] [--domain <domain>] [--host <host>] [--command <command>] [--since <since>]',
        '',
      ].join('\n'),
    );
  });
});
