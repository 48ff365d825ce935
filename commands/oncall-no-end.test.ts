import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/core/args.ts';
import type { LocalContext } from '../src/core/define-command.ts';
import { nextHandoff, type OnCallAccess, type OnCallInput, onCallAt, zoneOf } from '../src/core/oncall.ts';
import type { Reply } from '../src/core/reply.ts';
import { oncall } from './oncall.ts';

/** No rotation: bob has onCall: true, so he is on call with no end. */
const STATIC: OnCallInput = {
  oncall: { timezone: 'Europe/Berlin', overrides: [] },
  people: { alice: { onCall: false }, bob: { onCall: true } },
};

/** The store's answer, computed by the real pure module (as OnCallStore does), the override kept in `runtime`. */
function context(input: OnCallInput): LocalContext {
  const runtime: { person: string; from: Date; until: Date; by: string }[] = [];
  const view = async (at: Date) => ({ ...onCallAt(input, runtime, at), zone: zoneOf(input), nextHandoff: nextHandoff(input, at) });
  const access: OnCallAccess = {
    zone: zoneOf(input),
    view,
    set: async (person, until, at) => {
      const end = until as Date;
      const before = onCallAt(input, runtime, at);
      runtime.push({ person, from: at, until: end, by: 'alice' });
      return { ok: true, person, until: end, before, after: await view(at) };
    },
    clear: async () => {
      throw new Error('clear was not expected');
    },
  };
  return {
    now: () => Date.now(),
    person: 'alice',
    platformUserId: 'alice',
    platform: 'terminal',
    roles: ['admin'],
    oncall: access,
  } as Partial<LocalContext> as LocalContext;
}
const run = (text: string, ctx: LocalContext) => oncall.run(parseArgs(oncall, { kind: 'text', text }) as never, ctx) as Promise<Reply>;

describe('/oncall set of someone who is on call with no end after it', () => {
  it('does not say they are on call "until" the override ends: /oncall says no end', async () => {
    const ctx = context(STATIC);
    const r = await run('set bob 2h', ctx);
    const shown = await run('', ctx);
    // /oncall after it: bob, no end set (the override, then onCall: true).
    expect(JSON.stringify(shown.blocks)).toContain('"name":"until","value":"no end set"');
    expect(r.title).toBe('bob is on call, with no end set');
    expect(JSON.stringify(r.blocks)).toContain('This override ends ');
    expect(JSON.stringify(r.blocks)).toContain('bob stays on call after it');
  });
});
