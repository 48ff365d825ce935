import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { chatInputToRequest, type RawChatInput } from '../../src/adapters/discord/to-request.ts';
import { messageToRequest, type TgMessage } from '../../src/adapters/telegram/to-request.ts';
import { lineToRequest } from '../../src/adapters/terminal/to-request.ts';
import { DEMO_CONFIG_PATH } from '../../src/app/demo-stack.ts';
import { FleetCache } from '../../src/app/fleet-cache.ts';
import { loadConfig } from '../../src/config/load.ts';
import { parseArgs, splitWords } from '../../src/core/args.ts';
import { type AnyCommand, usageOf } from '../../src/core/define-command.ts';
import type { DomainRef } from '../../src/core/domain-ref.ts';
import { UserError } from '../../src/core/errors.ts';
import { approvalRule, decide, isRejection, type PipelineContext } from '../../src/core/pipeline.ts';
import { isFinal, type Reply } from '../../src/core/reply.ts';
import type { ChatRequest, RawArgs } from '../../src/core/request.ts';
import type { DomainSummary } from '../../src/core/xen.ts';
import { anyString, argText, chatText, commandName, optionEntries, wrongType } from './arbitraries.ts';

/**
 * Property-based fuzzing of every chat-facing input, without I/O: the argument parser, Discord options, Telegram
 * messages, terminal lines, and the pure pipeline over the demo config. Random each run (fast-check prints the
 * seed and the shrunk counterexample on failure; replay with `{ seed, path }` in the failing assertion's options).
 */

/** Runs per property; FUZZ_RUNS=5000 for a deeper search. 1000 keeps this file at a few seconds. */
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 1000);
/** Room for a deeper run (the default runs take a second or two each). */
const TIMEOUT = Math.max(30_000, RUNS * 25);
const DOMAIN = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}$/;
const HOST = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** Command names (shown in a counterexample), and the command by name. */
const commandNameArb = fc.constantFrom(...COMMANDS.map((c) => c.name));
const byName = (name: string): AnyCommand => COMMANDS.find((c) => c.name === name) as AnyCommand;

/** A parser outcome: the arguments, or the UserError it threw. Anything else thrown fails the property. */
function parse(command: AnyCommand, raw: RawArgs): { ok: true; args: Record<string, unknown> } | { ok: false; error: UserError } {
  try {
    return { ok: true, args: parseArgs(command, raw) };
  } catch (error) {
    if (error instanceof UserError) return { ok: false, error };
    throw error;
  }
}

/** Whatever the parser lets through is validated: domain names, hosts and targets match their patterns. */
function expectValidated(args: Record<string, unknown>): void {
  const domain = args['domain'] as DomainRef | undefined;
  if (domain !== undefined) {
    expect(domain.domain).toMatch(DOMAIN);
    expect(domain.domain).not.toMatch(/^\d+$/);
    if (domain.host !== undefined) expect(domain.host).toMatch(HOST);
  }
  for (const key of ['host', 'target'] as const) {
    const value = args[key];
    // `/list xen1,xen2`: the read commands of the fleet take a list of hosts, each validated.
    for (const host of Array.isArray(value) ? value : value === undefined ? [] : [value]) expect(host).toMatch(HOST);
  }
}

/** A bad-input answer: a one-line reason (short), and the command's usage. */
function expectOneLineWithUsage(command: AnyCommand, error: UserError): void {
  expect(error.code).toBe('args.invalid');
  expect(error.message).not.toMatch(/[\r\n]/);
  expect(error.message.length).toBeGreaterThan(0);
  expect(Array.from(error.message).length).toBeLessThanOrEqual(301);
  expect(error.context.usage).toBe(usageOf(command));
}

describe('the argument parser', () => {
  it(
    'splitWords never throws and never invents characters',
    () => {
      fc.assert(
        fc.property(argText, (text) => {
          const words = splitWords(text);
          if (words === null) return;
          const letters = new Set(text);
          const invented = words.flatMap((w) => Array.from(w).filter((ch) => !letters.has(ch)));
          expect(invented).toEqual([]);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    'text: every command either parses to validated arguments or says why in one line with its usage',
    () => {
      fc.assert(
        fc.property(commandNameArb, argText, (name, text) => {
          const command = byName(name);
          const r = parse(command, { kind: 'text', text });
          if (r.ok) expectValidated(r.args);
          else expectOneLineWithUsage(command, r.error);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    'structured options, wrong types included: validated arguments or a one-line reason with usage',
    () => {
      const input = commandNameArb.chain((name) => fc.tuple(fc.constant(name), optionEntries(name)));
      fc.assert(
        fc.property(input, ([name, entries]) => {
          const command = byName(name);
          const options: Record<string, unknown> = {};
          // Own properties, `__proto__` too, as JSON.parse would make them (keys are strings).
          for (const o of entries)
            if (typeof o.name === 'string')
              Object.defineProperty(options, o.name, { value: o.value, enumerable: true, writable: true, configurable: true });
          const r = parse(command, { kind: 'options', options: options as Record<string, string> });
          if (r.ok) expectValidated(r.args);
          else expectOneLineWithUsage(command, r.error);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});

/** Discord: the raw interaction parts the adapter reads, with option values of any JSON type. */
const rawChatInput: fc.Arbitrary<RawChatInput> = commandName.chain((name) =>
  fc.record({
    id: fc.bigInt({ min: 1n, max: 2n ** 63n }).map(String),
    guildId: fc.option(fc.constant('400000000000000001')),
    channelId: fc.constantFrom('300000000000000001', 'dm'),
    userId: fc.constantFrom('200000000000000001', '200000000000000002', '200000000000000003', '999'),
    username: anyString,
    roleIds: fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
    commandName: fc.constant(name),
    options: optionEntries(name) as fc.Arbitrary<RawChatInput['options']>,
    receivedAt: fc.integer({ min: 0, max: 2 ** 42 }),
  }),
);

describe('Discord options → request', () => {
  it(
    'never throws, and makes an options request that the parser answers',
    () => {
      fc.assert(
        fc.property(rawChatInput, (raw) => {
          const req = chatInputToRequest(raw);
          expect(req.id).toBe(`dc${raw.id}`);
          expect(req.args.kind).toBe('options');
          const command = COMMANDS.find((c) => c.name === req.command.toLowerCase());
          if (!command) return;
          const r = parse(command, req.args);
          if (r.ok) expectValidated(r.args);
          else expectOneLineWithUsage(command, r.error);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});

/** Telegram: a Message as the Bot API sends it — or as a broken client or proxy might, with wrong types anywhere. */
const tgMessage: fc.Arbitrary<TgMessage> = fc
  .record({
    message_id: fc.oneof(fc.integer({ min: 1, max: 2 ** 31 }), wrongType),
    date: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 }), wrongType),
    chat: fc.oneof(
      {
        arbitrary: fc.record({
          id: fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
          type: fc.constantFrom('private', 'group', 'supergroup'),
        }),
        weight: 6,
      },
      { arbitrary: fc.record({ id: wrongType, type: wrongType, title: wrongType }), weight: 1 },
    ),
    from: fc.option(
      fc.oneof(
        { arbitrary: fc.record({ id: fc.constantFrom(1001, 1002, 1003, 7), is_bot: fc.boolean(), first_name: anyString }), weight: 6 },
        { arbitrary: fc.record({ id: wrongType, is_bot: wrongType, first_name: wrongType, username: wrongType }), weight: 1 },
      ),
      { nil: undefined },
    ),
    sender_chat: fc.option(fc.record({ id: fc.oneof(fc.integer(), wrongType), type: fc.string(), title: wrongType }), {
      nil: undefined,
      freq: 8,
    }),
    body: fc.tuple(
      fc.oneof({ arbitrary: commandName, weight: 6 }, { arbitrary: fc.constant(''), weight: 1 }),
      fc.constantFrom('', '@xenops_bot', '@XenOps_Bot', '@other_bot', '@'),
      fc.constantFrom(' ', '  ', '\n', ''),
      argText,
    ),
    entityLength: fc.oneof(fc.constant('exact' as const), fc.integer({ min: -3, max: 70_000 }), wrongType),
    textType: fc.oneof({ arbitrary: fc.constant('string' as const), weight: 8 }, { arbitrary: wrongType, weight: 1 }),
    entitiesType: fc.oneof(
      { arbitrary: fc.constant('command' as const), weight: 8 },
      { arbitrary: fc.constant('none' as const), weight: 1 },
      { arbitrary: wrongType, weight: 1 },
    ),
  })
  .map(({ body: [cmd, at, sep, args], entityLength, textType, entitiesType, ...m }) => {
    const head = `/${cmd}${at}`;
    const text = `${head}${sep}${args}`;
    const length = entityLength === 'exact' ? head.length : entityLength;
    const entities =
      entitiesType === 'command' ? [{ type: 'bot_command', offset: 0, length }] : entitiesType === 'none' ? undefined : entitiesType;
    return {
      ...m,
      text: textType === 'string' ? text : textType,
      ...(entities === undefined ? {} : { entities }),
    } as unknown as TgMessage;
  });

describe('Telegram text → request', () => {
  it(
    'never throws: a message is a well-formed text request or nothing',
    () => {
      fc.assert(
        fc.property(tgMessage, (message) => {
          const req = messageToRequest(message, 'xenops_bot');
          if (req === null) return;
          expect(typeof req.id).toBe('string');
          expect(typeof req.command).toBe('string');
          expect(req.command.length).toBeGreaterThan(0);
          expect(req.args.kind).toBe('text');
          expect(typeof (req.args as { text: unknown }).text).toBe('string');
          expect(typeof req.actor.userId).toBe('string');
          expect(typeof req.channel.id).toBe('string');
          const command = COMMANDS.find((c) => c.name === req.command);
          if (!command) return;
          const r = parse(command, req.args);
          if (r.ok) expectValidated(r.args);
          else expectOneLineWithUsage(command, r.error);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});

describe('terminal lines → request', () => {
  it(
    'never throws: a request, a hint or nothing',
    () => {
      const line = fc
        .tuple(fc.constantFrom('', '@bob ', '@ ', '@carol', '/', '/ ', ''), commandName, fc.constantFrom(' ', '', '\t'), argText)
        .map(([who, cmd, sep, args]) => `${who}${who.startsWith('/') ? '' : '/'}${cmd}${sep}${args}`);
      fc.assert(
        fc.property(fc.oneof(line, chatText), (text) => {
          const req = lineToRequest(text, 'alice', 'fuzz', Date.now(), true);
          if (req) expect(req.args.kind).toBe('text');
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});

/** The demo config, as the e2e suites use it (fake ports and pinned keys: nothing connects here). */
function demoContext(): { ctx: PipelineContext; fleet: FleetCache } {
  const fp = `SHA256:${'A'.repeat(43)}`;
  const config = loadConfig(DEMO_CONFIG_PATH, {
    XENOPS_SIM_XEN1_PORT: '2201',
    XENOPS_SIM_XEN2_PORT: '2202',
    XENOPS_SIM_XEN1_HOSTKEY: fp,
    XENOPS_SIM_XEN2_HOSTKEY: fp,
    XENOPS_SIM_CLIENT_KEY: '/nonexistent/key',
  });
  const d = (name: string, running: boolean): DomainSummary => ({
    name,
    uuid: null,
    id: running ? 3 : null,
    status: running ? 'blocked' : 'defined',
    flags: running ? '-b----' : '',
    memoryMiB: 512,
    vcpus: 1,
    cpuSeconds: 1,
    configPath: `/etc/xen/vm/${name}.cfg`,
  });
  const fleet = new FleetCache(['xen1', 'xen2']);
  fleet.update('xen1', [d('Domain-0', true), d('gateway', true), d('web', true), d('mail', false)]);
  fleet.update('xen2', [d('Domain-0', true), d('files', true)]);
  return { ctx: { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) }, fleet };
}

function expectAnswer(r: Reply): void {
  expect(isFinal(r)).toBe(true);
  expect(r.kind).toBe('error');
  expect(r.title).not.toMatch(/[\r\n]/);
  expect(r.title).not.toBe('Something went wrong');
  const first = r.blocks[0];
  expect(first?.type).toBe('text');
  expect((first as { text: string }).text).not.toMatch(/[\r\n]/);
}

describe('the pure pipeline over the demo config', () => {
  const { ctx, fleet } = demoContext();
  const approval = approvalRule(ctx.config);
  const platformRequest: fc.Arbitrary<ChatRequest> = fc.oneof(
    rawChatInput.map(chatInputToRequest),
    tgMessage.map((m) => messageToRequest(m, 'xenops_bot')).filter((r): r is ChatRequest => r !== null),
    fc
      .tuple(fc.constantFrom('', '@bob ', '@carol ', '@dave ', '@mallory '), commandName, argText)
      .map(([who, cmd, args]) => lineToRequest(`${who}/${cmd} ${args}`, 'alice', 'fuzz', Date.now(), true))
      .filter((r): r is ChatRequest => r !== null),
  );

  it(
    'decides every request without throwing: a refusal in one line (usage for bad arguments), or validated jobs',
    () => {
      fc.assert(
        fc.property(platformRequest, fc.boolean(), (req, refreshed) => {
          const d = decide(ctx, req, fleet, refreshed, approval);
          if (isRejection(d)) {
            expectAnswer(d.reply);
            if (d.reply.title.startsWith('Bad arguments for /')) {
              const name = d.reply.title.slice('Bad arguments for /'.length);
              const command = COMMANDS.find((c) => c.name === name);
              expect(d.reply.blocks[1]).toEqual({ type: 'code', text: command && usageOf(command) });
            }
            return;
          }
          if (d.kind === 'lookup') {
            expect(d.hosts.every((h) => HOST.test(h))).toBe(true);
            return;
          }
          expectValidated(d.evaluated.args);
          if (d.kind === 'enqueue' || d.kind === 'needsApproval') {
            for (const job of d.jobs) {
              const j = job as unknown as Record<string, unknown>;
              expect(j['host']).toMatch(HOST);
              if (j['domain'] !== undefined) expect(j['domain']).toMatch(DOMAIN);
              if (j['target'] !== undefined) expect(j['target']).toMatch(HOST);
            }
          }
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});
