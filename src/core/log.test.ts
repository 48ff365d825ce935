import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets, registerSecret } from './log.ts';

describe('secrets stay out of logs and messages', () => {
  it('scrubs registered secrets and bot-token URLs from text', () => {
    registerSecret('s3cr3t-passphrase');
    expect(redactSecrets('key failed: s3cr3t-passphrase')).toBe('key failed: [redacted]');
    expect(redactSecrets('request to http://127.0.0.1:9/bot123456789:AAtestTOKENtestTOKENtestTOKENtest00/getMe failed')).toBe(
      'request to http://127.0.0.1:9/bot[redacted]/getMe failed',
    );
    expect(redactSecrets('redis://user:hunter2@host:6379')).toBe('redis://user:[redacted]@host:6379');
  });

  it('censors token and key fields in logged objects', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    createLogger('info', sink).info({ telegram: { token: 'tok-123456' }, host: { privateKey: 'PRIVATE' } }, 'hello');
    expect(lines.join('')).not.toMatch(/tok-123456|PRIVATE/);
    expect(lines.join('')).toContain('[redacted]');
  });
});
