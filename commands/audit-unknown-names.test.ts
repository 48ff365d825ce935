import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../src/app/audit.ts';
import { REDIS_URL } from '../test/helpers/redis.ts';
import { quietLogger } from '../test/helpers/sim.ts';
import { demoChat } from '../test/helpers/stack.ts';

/**
 * `/audit host:xen9` was answered `No audit entries match host:xen9` and `/audit command:stoop` likewise: in an incident
 * review a typo read as "nothing happened". The audit may hold hosts since removed from the config and any command, so
 * nothing is refused; a name the config (or xenops) does not know is said as such beside what was found.
 */
const chat = demoChat();

describe('/audit filters naming what is not there', () => {
  it('says a host is not configured, with the hosts', async () => {
    expect(await chat.say('/audit host:xen9')).toBe(
      ['> /audit host:xen9', '⚠ No audit entries match host:xen9', 'xen9 is not a configured host (hosts: xen1, xen2)', ''].join('\n'),
    );
  });

  it('says the same of a host named with a domain', async () => {
    expect(await chat.say('/audit domain:xen9:web')).toBe(
      [
        '> /audit domain:xen9:web',
        '⚠ No audit entries match domain:xen9:web',
        'xen9 is not a configured host (hosts: xen1, xen2)',
        '',
      ].join('\n'),
    );
  });

  it('says a command does not exist, and the one it is nearest', async () => {
    expect(await chat.say('/audit command:stoop')).toBe(
      ['> /audit command:stoop', '⚠ No audit entries match command:stoop', 'stoop is not a command — did you mean stop?', ''].join('\n'),
    );
  });

  it('says a person is not in the config, and the one it is nearest', async () => {
    expect(await chat.say('/audit person:bobb')).toBe(
      [
        '> /audit person:bobb',
        '⚠ No audit entries match person:bobb',
        'bobb is not a person in the config nor one of their platform ids (people: alice, bob, carol, dave) — did you mean bob?',
        '',
      ].join('\n'),
    );
  });

  it('says nothing more of names it knows: a configured host, a command, a person or their platform id', async () => {
    expect(await chat.say('/audit host:xen2 command:reboot person:200000000000000002')).toBe(
      [
        '> /audit host:xen2 command:reboot person:200000000000000002',
        'ℹ No audit entries match person:200000000000000002 host:xen2 command:reboot',
        '',
      ].join('\n'),
    );
  });

  it('shows entries about a host no longer configured, and says it is not configured', async () => {
    // What a bot wrote when xen9 was still a host: another writer of the same stream, as a second bot is.
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const file = join(mkdtempSync(join(tmpdir(), 'xenops-audit-past-')), 'audit.jsonl');
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
    const past = new AuditLog(redis, `${chat.stack.prefix}:audit`, file, 10_000, quietLogger);
    try {
      await past.append(
        {
          event: 'job.outcome',
          requestId: 'r-past',
          person: 'bob',
          platform: 'terminal',
          userId: 'bob',
          channelId: 'tty',
          command: 'stop',
          args: 'xen9:web',
          targets: [{ host: 'xen9', domain: 'web' }],
          detail: 'stopped',
        },
        { now: true },
      );
    } finally {
      await past.close();
      redis.disconnect();
    }
    const said = (await chat.say('/audit host:xen9')).split('\n');
    expect(said.slice(0, 2)).toEqual(['> /audit host:xen9', 'ℹ Last 1 audit entry matching host:xen9']);
    expect(said.some((line) => /job\.outcome +bob +stop +xen9:web +xen9:web +stopped/.test(line))).toBe(true);
    expect(said.slice(-2)).toEqual(['xen9 is not a configured host (hosts: xen1, xen2)', '']);
  });
});
