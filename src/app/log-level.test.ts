import { describe, expect, it } from 'vitest';
import { logLevelOf } from './main.ts';

describe('the log level of bot and agent', () => {
  it('is XENOPS_LOG_LEVEL when it names a level, else the config’s logLevel', () => {
    expect(logLevelOf({ logLevel: 'info' }, { XENOPS_LOG_LEVEL: 'debug' })).toBe('debug');
    expect(logLevelOf({ logLevel: 'warn' }, {})).toBe('warn');
    expect(logLevelOf({ logLevel: 'info' }, { XENOPS_LOG_LEVEL: 'loud' })).toBe('info');
  });
});
