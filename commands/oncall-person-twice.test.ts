import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/core/args.ts';
import { UserError } from '../src/core/errors.ts';
import { oncall } from './oncall.ts';

const USAGE = '/oncall [<action>] [<person>] [<until>]';
const parse = (text: string) => parseArgs(oncall, { kind: 'text', text });

function refusal(text: string): string {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).context.usage).toBe(USAGE);
    return (error as UserError).message;
  }
  throw new Error(`"${text}" was accepted`);
}

// `/oncall set bob person:alice` was read as person alice, until "bob" (the words moved along to the places left
// free), and refused as a bad time: bob is where the person goes, given a second time as an option.
describe('/oncall set with the person both in its place and as person:', () => {
  it('is refused as the person given twice, as it is with an until after it', () => {
    expect(refusal('set bob person:alice')).toBe('--person is given twice ("alice" and "bob"): say it once');
    expect(refusal('set bob person:alice 18:00')).toBe('--person is given twice ("alice" and "bob"): say it once');
  });

  it('is taken once when both name the same person', () => {
    expect(parse('set bob person:bob')).toEqual({ action: 'set', person: 'bob' });
  });

  it('still reads options given in place of a word, the other words in the places left', () => {
    expect(parse('set person:alice 18:00')).toEqual({ action: 'set', person: 'alice', until: '18:00' });
    expect(parse('set until:18:00 alice')).toEqual({ action: 'set', person: 'alice', until: '18:00' });
    expect(parse('action:set alice 2h')).toEqual({ action: 'set', person: 'alice', until: '2h' });
    // A word that is no person in the person's place is a bad until, as it was.
    expect(refusal('set person:alice 25:00')).toBe('until: 25:00 is not a time of day (00:00 to 23:59)');
  });
});
