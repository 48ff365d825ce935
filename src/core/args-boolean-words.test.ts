import { describe, expect, it } from 'vitest';
import { stop } from '../../commands/stop.ts';
import { parseArgs } from './args.ts';
import { UserError } from './errors.ts';

/**
 * `force:maybe` was refused "force must be true or false", though `force:yes`, `no`, `1`, `0`, `on` and `off` are all
 * taken: the refusal names every word accepted.
 */
function refusal(text: string): string {
  try {
    parseArgs(stop, { kind: 'text', text });
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).message;
  }
  throw new Error(`"${text}" was accepted`);
}

describe('a yes-or-no option given a word it does not take', () => {
  it('is refused with every word it takes', () => {
    expect(refusal('web force:maybe')).toBe('force must be true or false (also yes/no, on/off, 1/0), got "maybe"');
  });

  it.each([
    ['yes', true],
    ['on', true],
    ['1', true],
    ['true', true],
    ['no', false],
    ['off', false],
    ['0', false],
    ['false', false],
  ])('and each word it names is taken: force:%s', (word, meant) => {
    expect(parseArgs(stop, { kind: 'text', text: `web force:${word}` })).toMatchObject({ force: meant });
  });
});
