import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/core/args.ts';
import { autostart } from './autostart.ts';

describe('/autostart arguments', () => {
  it('a state other than on or off is answered in words, not zod’s "Invalid option"', () => {
    let message = '';
    try {
      parseArgs(autostart, { kind: 'text', text: 'mail maybe' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('state: expected on or off, got "maybe"');
  });
});
