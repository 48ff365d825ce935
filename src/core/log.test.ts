import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TransportError } from './errors.ts';
import { createLogger, redactSecrets, registerSecret } from './log.ts';

describe('secrets stay out of logs and messages', () => {
  it('scrubs registered secrets and bot-token URLs from text', () => {
    registerSecret('s3cr3t-passphrase');
    expect(redactSecrets('key failed: s3cr3t-passphrase')).toBe('key failed: [redacted]');
    expect(redactSecrets('request to http://127.0.0.1:9/bot123456789:AAtestTOKENtestTOKENtestTOKENtest00/getMe failed')).toBe(
      'request to http://127.0.0.1:9/bot[redacted]/getMe failed',
    );
    expect(redactSecrets('redis://user:hunter2@host:6379')).toBe('redis://user:[redacted]@host:6379');
    // A password holding an @ (ioredis reads it up to the last @ before the host, as WHATWG URL does).
    expect(redactSecrets('waiting for Redis at redis://:s3cr@t-pw@127.0.0.1:1/0 …')).toBe(
      'waiting for Redis at redis://:[redacted]@127.0.0.1:1/0 …',
    );
    // ioredis reads a password from the query too.
    expect(redactSecrets('at redis://127.0.0.1:1/0?db=0&password=Qu3ry&x=1 (refused)')).toBe(
      'at redis://127.0.0.1:1/0?db=0&password=[redacted]&x=1 (refused)',
    );
    expect(redactSecrets('"redis":"rediss://h:6380/?Password=Qu3ry"')).toBe('"redis":"rediss://h:6380/?Password=[redacted]"');
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

  describe('in every line the bot and the agent write', () => {
    const capture = () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      });
      return { logger: createLogger('info', sink), lines, last: () => JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown> };
    };

    it('censors secret-named keys at any depth, env-style names and API keys included', () => {
      const { logger, lines, last } = capture();
      logger.info(
        {
          config: { discord: { token: 'deep-token-1' }, telegram: { webhook: { secretToken: 'hook-secret-2' } } },
          DISCORD_TOKEN: 'env-token-3',
          apiKey: 'key-4',
        },
        'config loaded',
      );
      expect(lines.join('')).not.toMatch(/deep-token-1|hook-secret-2|env-token-3|key-4/);
      expect(last()).toMatchObject({ config: { discord: { token: '[redacted]' } }, DISCORD_TOKEN: '[redacted]', apiKey: '[redacted]' });
    });

    it('removes passwords from Redis URLs in values, messages and child bindings', () => {
      const { logger, lines, last } = capture();
      logger.info({ redis: 'redis://:hunter2@redis:6379', nodes: ['rediss://default:pw-in-list@10.0.0.2:6380'] }, 'connecting');
      expect(last()['redis']).toBe('redis://:[redacted]@redis:6379');
      logger.warn('cannot reach redis://user:pw-in-msg@h:6379/0');
      expect(last()['msg']).toBe('cannot reach redis://user:[redacted]@h:6379/0');
      logger.child({ url: 'redis://:child-pw@h:6379' }).info('child');
      expect(lines.join('')).not.toMatch(/hunter2|pw-in-list|pw-in-msg|child-pw/);
    });

    it('scrubs registered secrets and bot tokens out of errors, keeping the error class', () => {
      registerSecret('agent-passphrase-77');
      const { logger, lines, last } = capture();
      logger.error(new TransportError('xen1', 'key rejected: agent-passphrase-77'));
      expect(last()).toMatchObject({
        msg: 'key rejected: [redacted]',
        err: { type: 'TransportError', message: 'key rejected: [redacted]' },
      });
      logger.error(
        { err: new Error('GET /bot123456789:AAtestTOKENtestTOKENtestTOKENtest00/getMe', { cause: new Error('agent-passphrase-77') }) },
        'failed',
      );
      expect(lines.join('')).not.toMatch(/agent-passphrase-77|AAtestTOKEN/);
      expect(lines.join('')).toContain('bot[redacted]');
    });

    it('censors the secret fields of configs, headers and child bindings, top level and nested', () => {
      const { logger, lines } = capture();
      const secrets = { token: 'S1', privateKey: 'S2', passphrase: 'S3', secretToken: 'S4', password: 'S5' };
      logger.info({ ...secrets, headers: { authorization: 'Bearer S6' } }, 'top');
      logger.info({ host: { ...secrets, headers: { authorization: 'Bearer S7' } } }, 'nested');
      logger
        .child({ job: { passphrase: 'S8' }, token: 'S9' })
        .child({ password: 'S10' })
        .info('child');
      const text = lines.join('');
      expect(text).not.toMatch(/"S\d+"|Bearer S/);
      expect(lines).toHaveLength(3);
      for (const line of lines.slice(0, 2))
        expect(JSON.stringify(JSON.parse(line)).match(/\[redacted\]/g)).toHaveLength(Object.keys(secrets).length + 1);
    });

    it('leaves ordinary values as they are', () => {
      const { logger, last } = capture();
      logger.info({ host: 'xen1', hostKey: 'SHA256:abc', count: 3, tokens: ['a'], url: 'http://127.0.0.1:9464/metrics' }, 'plain');
      expect(last()).toMatchObject({
        host: 'xen1',
        hostKey: 'SHA256:abc',
        count: 3,
        tokens: ['a'],
        url: 'http://127.0.0.1:9464/metrics',
        msg: 'plain',
      });
    });
  });
});
