import { readFileSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBot } from '../src/app/bot.ts';
import { Config } from '../src/config/schema.ts';
import { parseArgs } from '../src/core/args.ts';
import { commandSpec, type LocalContext, riskOf } from '../src/core/define-command.ts';
import { UserError } from '../src/core/errors.ts';
import { createLogger } from '../src/core/log.ts';
import {
  formatWhen,
  nextHandoff,
  type OnCallAccess,
  type OnCallInput,
  type OnCallSetResult,
  onCallAt,
  zoneOf,
} from '../src/core/oncall.ts';
import { decide } from '../src/core/pipeline.ts';
import type { Reply } from '../src/core/reply.ts';
import { CaptureAdapter } from '../test/helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../test/helpers/redis.ts';
import { chatRequest, targetOf } from '../test/helpers/requests.ts';
import { COMMANDS } from './index.ts';
import { oncall } from './oncall.ts';

const PEOPLE = { alice: { onCall: false }, bob: { onCall: true }, carol: { onCall: false } };
/** bob, alice… a day each from Monday 2025-03-03 09:00 Berlin time. */
const BERLIN: OnCallInput = {
  oncall: {
    timezone: 'Europe/Berlin',
    rotation: { people: ['bob', 'alice'], period: 'daily', handoff: '09:00', start: '2025-03-03' },
    overrides: [],
  },
  people: PEOPLE,
};
/** Tuesday 4 March 2025, 11:00 in Berlin: alice's shift (09:00 to Wednesday 09:00). */
const NOW = new Date('2025-03-04T10:00:00Z');

/** The context a local command gets, with an on-call access computed by the real pure module. */
function context(input: OnCallInput, setResult?: (person: string, until: Date | null, at: Date) => OnCallSetResult) {
  const calls: [string, string | null, string][] = [];
  const access: OnCallAccess = {
    zone: zoneOf(input),
    view: async (at) => ({ ...onCallAt(input, [], at), zone: zoneOf(input), nextHandoff: nextHandoff(input, at) }),
    set: async (person, until, at) => {
      calls.push([person, until?.toISOString() ?? null, at.toISOString()]);
      if (!setResult) throw new Error('set was not expected');
      return setResult(person, until, at);
    },
    clear: async () => {
      throw new Error('clear was not expected');
    },
  };
  // Only what /oncall reads: the rest of the context is other commands' business.
  const ctx = {
    now: () => Date.now(),
    person: 'alice',
    platformUserId: 'alice',
    platform: 'terminal',
    roles: ['admin'],
    oncall: access,
  } as Partial<LocalContext> as LocalContext;
  return { ctx, calls };
}
const run = (text: string, ctx: LocalContext) => oncall.run(parseArgs(oncall, { kind: 'text', text }) as never, ctx) as Promise<Reply>;
const USAGE = '/oncall [<action>] [<person>] [<until>]';

describe('/oncall arguments', () => {
  it('reads an action word first, then the person and until; help and menus read from the same schema', () => {
    const parse = (text: string) => parseArgs(oncall, { kind: 'text', text });
    expect(parse('')).toEqual({ action: 'show' });
    expect(parse('set alice')).toEqual({ action: 'set', person: 'alice' });
    expect(parse('set alice 18:00')).toEqual({ action: 'set', person: 'alice', until: '18:00' });
    expect(parse('set alice "tomorrow 09:00"')).toEqual({ action: 'set', person: 'alice', until: 'tomorrow 09:00' });
    expect(parseArgs(oncall, { kind: 'options', options: { action: 'set', person: 'alice', until: 'tomorrow 09:00' } })).toEqual({
      action: 'set',
      person: 'alice',
      until: 'tomorrow 09:00',
    });
    expect(commandSpec(oncall)).toEqual({
      name: 'oncall',
      description: 'Who is on call now and next; /oncall set <person> [until] puts someone on call',
      usage: USAGE,
      permission: 'oncall.read',
      risk: 'read',
      options: [
        { name: 'action', description: 'show (the default), set or clear', type: 'string', required: false },
        {
          name: 'person',
          description: 'with set: who goes on call; with clear: whose overrides end (default: all)',
          type: 'string',
          required: false,
        },
        {
          name: 'until',
          description: 'with set: 18:00, 2h, "tomorrow 09:00" or an ISO time (default: the next handoff)',
          type: 'string',
          required: false,
        },
      ],
    });
    expect(riskOf(oncall, { action: 'set', person: 'alice' })).toBe('write');
  });

  it('refuses bad input with a one-line reason and the usage', () => {
    const problem = (text: string) => {
      try {
        parseArgs(oncall, { kind: 'text', text });
        return 'parsed';
      } catch (error) {
        expect(error).toBeInstanceOf(UserError);
        expect((error as UserError).context.usage).toBe(USAGE);
        return (error as UserError).message;
      }
    };
    // A word that is no action is said to be none, nothing guessed: `/oncall bogus` was offered `/oncall set bogus`,
    // and a name may as well have been meant for clear.
    expect(problem('bogus')).toBe('action: expected show, set or clear, got "bogus"');
    expect(problem('bob')).toBe('action: expected show, set or clear, got "bob"');
    // The until is the rest of the line (`tomorrow 09:00` unquoted, as /freeze reads it): tomorrow alone says what is missing.
    expect(problem('set alice tomorrow')).toBe('until: tomorrow needs a time of day: tomorrow 09:00');
    expect(problem('set alice soon')).toBe(
      'until: expected HH:MM, a duration (2h, 90m, 1h30m, 2d), "tomorrow HH:MM" or an ISO time (2025-03-04T18:00); got "soon"',
    );
    expect(problem('set Alice')).toBe('person: must be 1-32 of a-z 0-9 _ - starting with a letter');
  });
});

describe('/oncall', () => {
  beforeAll(() => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  it('shows who is on call, until when, why, and who is next, in the rotation zone', async () => {
    expect(await run('', context(BERLIN).ctx)).toEqual({
      kind: 'result',
      tone: 'info',
      title: 'alice is on call',
      blocks: [
        {
          type: 'fields',
          fields: [
            { name: 'until', value: 'Wed 5 Mar 09:00', inline: true },
            { name: 'because', value: 'the rotation', inline: true },
            { name: 'next', value: 'bob from Wed 5 Mar 09:00', inline: true },
          ],
        },
        { type: 'text', text: 'Times in Europe/Berlin.' },
      ],
    });
  });

  it('without a rotation: the onCall people, no end, no times', async () => {
    expect(await run('show', context({ people: PEOPLE }).ctx)).toEqual({
      kind: 'result',
      tone: 'info',
      title: 'bob is on call',
      blocks: [
        {
          type: 'fields',
          fields: [
            { name: 'until', value: 'no end set', inline: true },
            { name: 'because', value: 'onCall: true in the config (no rotation)', inline: true },
            { name: 'next', value: 'nobody scheduled', inline: true },
          ],
        },
      ],
    });
    expect(await run('', context({ people: { alice: { onCall: false } } }).ctx)).toEqual({
      kind: 'result',
      tone: 'warning',
      title: 'Nobody is on call',
      blocks: [{ type: 'fields', fields: [{ name: 'next', value: 'nobody scheduled', inline: true }] }],
    });
  });

  it('set: reads until in the rotation zone, passes it on, and says who was on call', async () => {
    const { ctx, calls } = context(BERLIN, (person, until, at) => {
      const end = until ?? (nextHandoff(BERLIN, at) as Date);
      return {
        ok: true,
        person,
        until: end,
        before: onCallAt(BERLIN, [], at),
        after: {
          ...onCallAt(BERLIN, [{ person, from: at, until: end, by: 'alice' }], at),
          zone: 'Europe/Berlin',
          nextHandoff: nextHandoff(BERLIN, at),
        },
      };
    });
    expect(await run('set carol 18:00', ctx)).toEqual({
      kind: 'result',
      tone: 'success',
      title: 'carol is on call until Tue 4 Mar 18:00',
      blocks: [
        {
          type: 'fields',
          fields: [
            { name: 'was', value: 'alice', inline: true },
            { name: 'next', value: 'alice from Tue 4 Mar 18:00', inline: true },
          ],
        },
        { type: 'text', text: 'Times in Europe/Berlin.' },
      ],
    });
    // 18:00 in Berlin (CET) is 17:00 UTC; no until = null (the store picks the next handoff).
    expect((await run('set carol', ctx)).title).toBe('carol is on call until Wed 5 Mar 09:00');
    expect(calls).toEqual([
      ['carol', '2025-03-04T17:00:00.000Z', NOW.toISOString()],
      ['carol', null, NOW.toISOString()],
    ]);
  });

  it("set: the store's refusal is the reply; arguments that do not go together are refused before it", async () => {
    const { ctx, calls } = context(BERLIN, () => ({
      ok: false,
      title: 'Not allowed',
      reason: 'carol may not run /oncall set: needs permission oncall.set',
    }));
    expect(await run('set carol 2h', ctx)).toEqual({
      kind: 'error',
      tone: 'error',
      title: 'Not allowed',
      blocks: [{ type: 'text', text: 'carol may not run /oncall set: needs permission oncall.set' }],
      private: true,
    });
    const bad = (text: string) => ({
      kind: 'error',
      tone: 'error',
      title: 'Bad arguments for /oncall',
      blocks: [
        { type: 'text', text },
        { type: 'code', text: USAGE },
      ],
      private: true,
    });
    expect(await run('set', ctx)).toEqual(bad('set needs a person: /oncall set <person> [until]'));
    expect(await run('show carol 2h', ctx)).toEqual(bad('to put carol on call: /oncall set carol 2h'));
    expect(await run('show until:2h', ctx)).toEqual(bad('until goes with set: /oncall set <person> <until>'));
    expect(calls).toHaveLength(1);
  });
});

describe('/oncall permissions in the pipeline', () => {
  const config = Config.parse({
    hosts: { xen1: { address: 'a', privateKeyPath: '/k', hostKey: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s' } },
    roles: { viewer: { allow: ['read'] }, nobody: {} },
    people: {
      carol: { roles: ['viewer'], identities: { terminal: 'carol' } },
      erin: { roles: ['nobody'], identities: { terminal: 'erin' } },
    },
    channels: [{ platform: 'terminal', id: '*' }],
  });
  const ctx = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };
  const empty = { hosts: {} } as never;

  it('oncall.read is in the read group; nobody else may look', () => {
    expect(decide(ctx, chatRequest('p1', 'oncall', 'carol'), empty, true)).toMatchObject({ kind: 'local', command: { name: 'oncall' } });
    expect(decide(ctx, chatRequest('p2', 'oncall', 'erin'), empty, true)).toMatchObject({
      kind: 'reject',
      reason: 'Not allowed: erin may not run /oncall: needs permission oncall.read',
    });
  });
});

describe('/oncall through the bot (Redis)', () => {
  const prefix = uniquePrefix();
  const auditFile = `/tmp/${prefix}-audit.jsonl`;
  const config = Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: { xen1: { address: '127.0.0.1', port: 1, privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true } },
    roles: { admin: { allow: ['*'] }, viewer: { allow: ['read'] } },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice' } },
      bob: { roles: ['viewer'], onCall: true, identities: { terminal: 'bob' } },
      carol: { roles: ['viewer'], identities: { terminal: 'carol' } },
    },
    channels: [{ platform: 'terminal', id: '*' }],
    audit: { file: auditFile },
    bot: { fleetRefreshMs: 600_000 },
  });
  afterEach(async () => {
    await deleteKeysWithPrefix(REDIS_URL, prefix);
    rmSync(auditFile, { force: true });
  });

  it('alice sets carol on call; carol sees it; carol may not set; the change and the refusal are audited', async () => {
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: createLogger('silent'), adapters: [adapter] });
    await bot.start();
    try {
      const ask = async (id: string, text: string, user: string) => {
        await bot.core.handle(chatRequest(id, text, user), targetOf(chatRequest(id, '')));
        return adapter.finalReply(id);
      };
      expect((await ask('o1', 'oncall', 'carol')).title).toBe('bob is on call');
      const set = await ask('o2', 'oncall set carol 2h', 'alice');
      expect(set).toMatchObject({
        kind: 'result',
        title: expect.stringMatching(/^carol is on call until \w{3} \d{1,2} \w{3} \d{2}:\d{2}$/),
      });
      expect((set.blocks[0] as { fields: unknown }).fields).toEqual([
        { name: 'was', value: 'bob', inline: true },
        { name: 'next', value: expect.stringMatching(/^bob from /), inline: true },
      ]);
      const shown = await ask('o3', 'oncall', 'carol');
      expect(shown.title).toBe('carol is on call');
      expect((shown.blocks[0] as { fields: { name: string; value: string }[] }).fields[1]).toEqual({
        name: 'because',
        value: 'set by alice with /oncall set',
        inline: true,
      });
      expect(await ask('o4', 'oncall set carol', 'carol')).toMatchObject({
        kind: 'error',
        title: 'Not allowed',
        blocks: [{ type: 'text', text: 'carol may not run /oncall set: needs permission oncall.set' }],
      });
      const entries = readFileSync(auditFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, string>)
        .filter((e) => e['event'] === 'decision')
        .map((e) => [e['requestId'], e['person'], e['decision'], e['detail']]);
      expect(entries).toEqual([
        ['o2', 'alice', 'allowed', expect.stringMatching(/^on call: carol until \d{4}-\d{2}-\d{2}T[\d:.]+Z \(was bob\)$/)],
        ['o4', 'carol', 'rejected', 'Not allowed: carol may not run /oncall set: needs permission oncall.set'],
      ]);
    } finally {
      await bot.stop();
    }
  });
});

describe('/oncall set of someone who stays on call after it', () => {
  it('says the end /oncall will show, and that the override itself ends sooner', async () => {
    let shown = '';
    let ends = '';
    const { ctx } = context(BERLIN, (person, until, at) => {
      // An earlier override of alice runs 5 hours, the new one 2: the status after both runs on past the new one.
      const after = onCallAt(BERLIN, [{ person, from: at, until: new Date(at.getTime() + 5 * 3_600_000), by: 'alice' }], at);
      shown = formatWhen(after.now?.until ?? at, 'Europe/Berlin', at);
      ends = formatWhen(until ?? at, 'Europe/Berlin', at);
      return { ok: true, person, until: until ?? at, before: after, after: { ...after, zone: 'Europe/Berlin', nextHandoff: null } };
    });
    const r = await run('set alice 2h', ctx);
    expect(r.title).toBe(`alice is on call until ${shown}`);
    expect(shown).not.toBe(ends);
    expect(JSON.stringify(r.blocks)).toContain(`This override ends ${ends}; alice stays on call after it`);
  });
});
