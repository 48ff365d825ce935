import { describe, expect, it } from 'vitest';
import { domainStatusFromFlags } from './state.ts';

describe('domainStatusFromFlags', () => {
  it.each([
    ['r-----', 'xl', 'running'],
    ['-b----', 'xl', 'blocked'],
    ['------', 'xl', 'running'],
    ['--p---', 'xl', 'paused'],
    ['-bp---', 'xl', 'paused'],
    ['---s--', 'xl', 'shutdown'],
    ['---sr-', 'xl', 'shutdown'],
    ['---ss-', 'xl', 'shutdown'],
    ['--psc-', 'xl', 'crashed'],
    ['---sc-', 'xl', 'crashed'],
    ['-----d', 'xl', 'dying'],
    ['-b---d', 'xl', 'dying'],
    ['----c-', 'xm', 'crashed'],
    ['---s--', 'xm', 'shutdown'],
    ['-b----', 'xm', 'blocked'],
    ['----c-', 'xl', 'running'],
  ] as const)('reads %s (%s) as %s', (flags, toolstack, status) => {
    expect(domainStatusFromFlags(flags, toolstack)).toBe(status);
  });
});
