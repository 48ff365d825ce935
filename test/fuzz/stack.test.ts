import fc from 'fast-check';
import { parse as shellParse } from 'shell-quote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import { TelegramAdapter } from '../../src/adapters/telegram/index.ts';
import { messageToRequest, type TgMessage } from '../../src/adapters/telegram/to-request.ts';
import { lineToRequest } from '../../src/adapters/terminal/to-request.ts';
import type { ReplyTarget } from '../../src/adapters/types.ts';
import { buildCommand } from '../../src/agent/ssh/quote.ts';
import type { Config } from '../../src/config/schema.ts';
import { usageOf } from '../../src/core/define-command.ts';
import { createLogger } from '../../src/core/log.ts';
import { isFinal, type Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { type DcCall, FakeDiscord } from '../helpers/fake-discord/server.ts';
import { FakeTelegram } from '../helpers/fake-telegram/server.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import {
  argText,
  buttonId,
  chatText,
  commandName,
  hostCommandLine,
  optionEntries,
  optionValue,
  SHELL_META_CHARS,
  typed,
  wrongType,
} from './arbitraries.ts';

/**
 * End-to-end fuzzing: random chat inputs through the whole demo stack — the real discord.js and telegraf clients
 * against the local fake Discord and Telegram servers, the terminal's line reader, button clicks — with the bot, the
 * agent and the simulated Dom0s on real Redis and real SSH. Properties: nothing throws out of an adapter or the core
 * (no error logged by an adapter, never "Something went wrong"); every input that is a command or a click gets
 * exactly one final reply (bad input: a one-line reason and the usage); and every command a simulated host received
 * has exactly the shape the drivers build, every argument validated and nothing unquoted.
 * Random each run: fast-check prints the seed and the counterexample on failure.
 */

/** Runs (each a batch of up to BATCH inputs sent at once); FUZZ_STACK_RUNS and FUZZ_STACK_MS for a longer search. */
const RUNS = Number(process.env['FUZZ_STACK_RUNS'] ?? 200);
const BATCH = 6;
/**
 * Past this, fast-check starts no further run (and leaves the one under way to the checks after it): the file stays
 * well under 25 s on a busy 2-core machine, however long the simulated migrations take.
 */
const TIME_LIMIT_MS = Number(process.env['FUZZ_STACK_MS'] ?? 10_000);
/** The longest one input may wait for its answer (a migration in the fast simulator takes a few seconds). */
const ANSWER_MS = 20_000;

const DC_TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-fuzz-token';
const TG_TOKEN = '123456789:AAfuzzTOKENfuzzTOKENfuzzTOKENfuzz00';
const DC_USERS = ['200000000000000001', '200000000000000002', '200000000000000003', '200000000000000004', '299999999999999999'];
const TG_USERS = [1001, 1002, 1003, 1004, 4242];
const TG_GROUP = { id: -1001234567890, type: 'supergroup' as const, title: 'ops' };
const TG_CHATS = [TG_GROUP, { id: 1001, type: 'private' as const }];

/** A delivery as an adapter made it: the reply, and whether the platform took it. */
interface Delivery {
  requestId: string;
  reply: Reply;
  ok: boolean;
  error?: string;
}

/** The real Discord adapter, recording what it delivers (our own class: nothing in discord.js is replaced). */
class RecordingDiscord extends DiscordAdapter {
  readonly deliveries: Delivery[] = [];
  override async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    return record(this.deliveries, target, reply, () => super.deliver(target, reply));
  }
}

class RecordingTelegram extends TelegramAdapter {
  readonly deliveries: Delivery[] = [];
  override async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    return record(this.deliveries, target, reply, () => super.deliver(target, reply));
  }
}

async function record(into: Delivery[], target: ReplyTarget, reply: Reply, send: () => Promise<ReplyTarget>): Promise<ReplyTarget> {
  try {
    const next = await send();
    into.push({ requestId: target.requestId, reply, ok: true });
    return next;
  } catch (error) {
    into.push({ requestId: target.requestId, reply, ok: false, error: String(error) });
    throw error;
  }
}

/** What the adapters log at error level: an exception that escaped into the adapter's catch-all. */
const adapterErrors: { msg: string; err?: string }[] = [];
const adapterLogger = createLogger('error', {
  write: (line: string) => {
    const entry = JSON.parse(line) as { level: number; msg: string; err?: string };
    if (entry.level >= 50) adapterErrors.push({ msg: entry.msg, ...(entry.err ? { err: entry.err } : {}) });
  },
});

let fakeDc: FakeDiscord;
let fakeTg: FakeTelegram;
let stack: TestStack;
let terminal: CaptureAdapter;
let discord: RecordingDiscord;
let telegram: RecordingTelegram;
/** A message of the bot's in the Telegram group, whose (fuzzed) buttons get clicked. */
let tgBoard = 0;
let firstSeq = 0;
let terminalIds = 0;

// ---------------------------------------------------------------------------------------------------------------
// What the Dom0s may receive: exactly the argv shapes of src/agent/toolstack/argv.ts and the sampler, quoted by
// src/agent/ssh/quote.ts, with every domain argument matching the validated pattern.

const DOMAIN = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}$/;
const NUM = /^\d{1,6}$/;
type Word = string | RegExp | ((w: string) => boolean);

function shapes(config: Config): Word[][] {
  const literally = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const host = Object.values(config.hosts);
  const dirs = [...new Set(host.flatMap((h) => h.configDirs))];
  const dir = dirs.map(literally).join('|');
  const logDirs = [...new Set(host.map((h) => h.consoleLogDir))].map(literally).join('|');
  const addresses = Object.entries(config.hosts).map(([name, h]) => h.migrateAddress ?? name);
  const domain = (w: string) => DOMAIN.test(w) && !/^\d+$/.test(w) && !/--(incoming|migratedaway)$/.test(w);
  const target = (w: string) => domain(w) && w !== 'Domain-0';
  const cfg = new RegExp(`^(?:${dir})/[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}\\.cfg$`);
  const consoleLog = (w: string) => {
    const m = new RegExp(`^(?:${logDirs})/guest-(.+)\\.log$`).exec(w);
    return m !== null && domain(m[1] as string);
  };
  const consoleLogRotated = (w: string) => w.endsWith('.log.1') && consoleLog(w.slice(0, -2));
  const address = (w: string) => addresses.includes(w);
  const shapesFor = (ts: 'xl' | 'xm'): Word[][] => [
    [ts, 'info'],
    ['timeout', NUM, ts, 'list', '--long'],
    [ts, 'uptime'],
    [ts, 'create', cfg],
    ['timeout', NUM, ts, 'shutdown', '-w', target],
    [ts, 'destroy', target],
    ['timeout', NUM, ts, 'console', domain],
    [ts, 'reboot', target],
    [ts, 'pause', target],
    [ts, 'unpause', target],
    [ts, 'list', '-l', domain],
    [ts, 'list', domain],
    [ts, 'network-list', domain],
    [ts, 'block-list', domain],
    [ts, 'vcpu-list', domain],
    [ts, 'uptime', domain],
  ];
  // Autostart entries (argv.ts): /etc/xen/auto/NAME.cfg, NAME validated; links to a plain absolute .cfg path.
  const autostart = (w: string) => {
    const m = /^\/etc\/xen\/auto\/(.+)\.cfg$/.exec(w);
    return m !== null && target(m[1] as string);
  };
  const linkTarget = (w: string) =>
    /^\/[A-Za-z0-9_.:+/-]+\.cfg$/.test(w) && !w.split('/').some((p, i) => i > 0 && ['', '.', '..'].includes(p));
  return [
    ...shapesFor('xl'),
    ...shapesFor('xm'),
    ['xl', 'list', '-v'],
    ['xm', 'list'],
    ['xl', 'migrate', target, address],
    ['xm', 'migrate', '-l', target, address],
    ['xentop', '-b', '-i', '2', '-d', '1'],
    ['xentop', '-b', '-i', '2', '-d', '1', '-f'],
    ['xentop', '-b', '-d', NUM],
    ['xentop', '-b', '-d', NUM, '-f'],
    ['test', '-r', consoleLog],
    ['tail', '-c', NUM, consoleLog],
    ['tail', '-c', NUM, consoleLogRotated],
    ['ls', '-1', (w) => dirs.includes(w)],
    ['ls', '-l', '/etc/xen/auto/'],
    ['ln', '-s', linkTarget, autostart],
    ['unlink', autostart],
    ['readlink', autostart],
    ['test', '-e', autostart],
    // /show of a domain: its config file, only as DIR/NAME.cfg for DIR one of the config dirs.
    ['cat', cfg],
  ];
}

function matches(words: readonly string[], shape: readonly Word[]): boolean {
  return (
    words.length === shape.length &&
    shape.every((m, i) => {
      const w = words[i] as string;
      return typeof m === 'string' ? w === m : m instanceof RegExp ? m.test(w) : m(w);
    })
  );
}

/** The characters of a command line outside single quotes (quoteArg writes a quote inside one as '\\''). */
function unquoted(command: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (quoted) quoted = c !== "'";
    else if (c === "'") quoted = true;
    else if (c === '\\' && command[i + 1] === "'") i++;
    else out += c;
  }
  return out;
}

/** Why a command a host received is not one xenops builds, or null when it is. */
function problemWith(command: string, known: Word[][]): string | null {
  const parsed = shellParse(command);
  if (!parsed.every((e): e is string => typeof e === 'string')) return `shell syntax outside quotes: ${JSON.stringify(parsed)}`;
  // Exactly what buildCommand makes of these words: quoted by xenops, nothing added or left bare.
  const sudo = parsed[0] === 'sudo';
  if (sudo && (parsed[1] !== '-n' || parsed[2] !== '--')) return 'sudo without -n --';
  const words = sudo ? parsed.slice(3) : parsed;
  if (buildCommand(words, { sudo }) !== command) return `not quoted as buildCommand quotes ${JSON.stringify(words)}`;
  // No metacharacter outside single quotes (the quoting above could only put them inside).
  if (SHELL_META_CHARS.test(unquoted(command))) return 'a metacharacter outside quotes';
  if (!known.some((s) => matches(words, s)))
    return `argv of no known shape: ${JSON.stringify(words)} (a new command in src/agent/toolstack/argv.ts? add its shape here)`;
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs

/** Mostly alice (who may run everything), so requests get past authorization to the hosts. */
const dcUser = fc.oneof(
  { arbitrary: fc.constant(DC_USERS[0] as string), weight: 3 },
  { arbitrary: fc.constantFrom(...DC_USERS), weight: 2 },
);
const tgUser = fc.oneof(
  { arbitrary: fc.constant(TG_USERS[0] as number), weight: 3 },
  { arbitrary: fc.constantFrom(...TG_USERS), weight: 2 },
);

/** A command and its arguments, as typed text and as structured options: mostly well-aimed, sometimes anything. */
const commandLine: fc.Arbitrary<{ command: string; text: string; options: { name: unknown; value: unknown }[] }> = fc.oneof(
  {
    weight: 3,
    arbitrary: hostCommandLine.chain((l) =>
      typed(l.words).map((text) => ({
        command: l.command,
        text,
        options: Object.entries(l.options).map(([name, value]) => ({ name, value })),
      })),
    ),
  },
  {
    weight: 2,
    arbitrary: commandName.chain((command) => fc.record({ command: fc.constant(command), text: argText, options: optionEntries(command) })),
  },
);

type Input =
  | { kind: 'terminal'; line: string }
  | { kind: 'discord'; user: string; name: string; options: { name: unknown; type: number; value: unknown }[] }
  | { kind: 'discord-autocomplete'; user: string; name: string; option: string; partial: unknown }
  | { kind: 'discord-click'; user: string; customId: string }
  | { kind: 'telegram'; user: unknown; chat: number; text: unknown }
  | { kind: 'telegram-click'; user: number; data: unknown }
  | { kind: 'button'; via: 'discord' | 'telegram'; user: number; command: string; args: Record<string, unknown> };

const discordType = (v: unknown) => (typeof v === 'boolean' ? 5 : typeof v === 'number' ? (Number.isInteger(v) ? 4 : 10) : 3);

const input: fc.Arbitrary<Input> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom('', '', '', '@bob ', '@carol ', '@dave ', '@mallory '), fc.constantFrom('/', '/', ''), commandLine)
      .map(([who, slash, l]): Input => ({ kind: 'terminal', line: `${who}${slash}${l.command} ${l.text}` })),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(dcUser, commandLine).map(
      ([user, l]): Input => ({
        kind: 'discord',
        user,
        name: l.command,
        options: l.options.map((o) => ({ name: o.name, type: discordType(o.value), value: o.value })),
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ user: dcUser, name: commandName, option: fc.constantFrom('domain', 'host', 'target', 'x') })
      .chain((r) => fc.oneof(chatText, optionValue).map((partial): Input => ({ kind: 'discord-autocomplete', ...r, partial }))),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(dcUser, buttonId).map(([user, customId]): Input => ({ kind: 'discord-click', user, customId })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        user: fc.oneof(
          { arbitrary: tgUser as fc.Arbitrary<unknown>, weight: 8 },
          { arbitrary: fc.constantFrom<unknown>(null, '1001', [1001], {}), weight: 1 },
        ),
        chat: fc.constantFrom(...TG_CHATS.map((c) => c.id)),
        line: commandLine,
        at: fc.constantFrom('', '', '@xenops_bot', '@other_bot'),
        type: fc.oneof(
          { arbitrary: fc.constant<'text' | 'array' | 'other'>('text'), weight: 8 },
          fc.constantFrom<'array' | 'other'>('array', 'other'),
        ),
        // The fake makes its entities from String(text): only values that convert (the unit suite has the others).
        other: wrongType.filter(converts),
      })
      .map(({ user, chat, line, at, type, other }): Input => {
        const text = `/${line.command}${at} ${line.text}`;
        // An array of strings reads as the text it joins to: the fake gives it a bot_command entity.
        return { kind: 'telegram', user, chat, text: type === 'text' ? text : type === 'array' ? [text] : other };
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(tgUser, fc.oneof({ arbitrary: buttonId, weight: 6 }, { arbitrary: fc.constantFrom<unknown>(7, null, true), weight: 1 }))
      .map(([user, data]): Input => ({ kind: 'telegram-click', user, data })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ via: fc.constantFrom('discord' as const, 'telegram' as const), user: fc.constantFrom(0, 0, 1, 2, 3, 4), line: commandLine })
      .map(
        ({ via, user, line }): Input => ({
          kind: 'button',
          via,
          user,
          command: line.command,
          args: Object.fromEntries(line.options.filter((o) => typeof o.name === 'string').map((o) => [o.name, o.value])),
        }),
      ),
  },
);

function converts(v: unknown): boolean {
  try {
    String(v);
    return true;
  } catch {
    return false;
  }
}

/** What we expect back for one sent input: the request id its final reply carries, or a Discord callback to see. */
type Sent =
  | {
      how: 'final';
      platform: 'terminal' | 'discord' | 'telegram';
      requestId: string;
      input: Input;
      discord?: { id: string; token: string };
    }
  | { how: 'autocomplete'; id: string; token: string; input: Input }
  | { how: 'nothing'; input: Input; tgMessageId?: number };

/** The message the fake Telegram builds for sendText, to know whether the bot should answer it. */
function tgMessage(messageId: number, from: unknown, chat: number, text: unknown): TgMessage {
  const command = /^\/[^\s]+/.exec(String(text));
  return {
    message_id: messageId,
    date: Math.floor(Date.now() / 1000),
    chat: { id: chat, type: chat < 0 ? 'supergroup' : 'private' },
    from: { id: from, is_bot: false, first_name: `user${String(from)}` },
    text,
    ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}),
  } as unknown as TgMessage;
}

async function send(i: Input): Promise<Sent> {
  switch (i.kind) {
    case 'terminal': {
      const id = `fz${++terminalIds}`;
      const req = lineToRequest(i.line, 'alice', id, Date.now(), true);
      if (!req) return { how: 'nothing', input: i };
      void terminal.core?.handle(req, { platform: 'terminal', channelId: 'terminal', requestId: id, state: {} });
      return { how: 'final', platform: 'terminal', requestId: id, input: i };
    }
    case 'discord': {
      const sent = fakeDc.interact(i.user, { id: '1', name: i.name, type: 1, options: i.options });
      return { how: 'final', platform: 'discord', requestId: `dc${sent.id}`, input: i, discord: sent };
    }
    case 'discord-autocomplete': {
      const sent = fakeDc.interact(
        i.user,
        { id: '1', name: i.name, type: 1, options: [{ name: i.option, type: 3, value: i.partial, focused: true }] },
        4,
      );
      return { how: 'autocomplete', ...sent, input: i };
    }
    case 'discord-click': {
      const sent = fakeDc.interact(i.user, { custom_id: i.customId, component_type: 2 }, 3);
      return { how: 'final', platform: 'discord', requestId: `dc${sent.id}`, input: i, discord: sent };
    }
    case 'telegram': {
      const mid = fakeTg.sendText(i.user as number, TG_CHATS.find((c) => c.id === i.chat) ?? TG_GROUP, i.text as string);
      const req = messageToRequest(tgMessage(mid, i.user, i.chat, i.text), 'xenops_bot');
      return req ? { how: 'final', platform: 'telegram', requestId: req.id, input: i } : { how: 'nothing', input: i, tgMessageId: mid };
    }
    case 'telegram-click': {
      const id = fakeTg.callback(i.user, TG_GROUP, tgBoard, i.data as string);
      return { how: 'final', platform: 'telegram', requestId: `tgcb${id}`, input: i };
    }
    case 'button': {
      const actionId = await stack.bot.createAction(i.command, i.args as Record<string, string>);
      if (i.via === 'discord') {
        const sent = fakeDc.interact(DC_USERS[i.user] as string, { custom_id: actionId, component_type: 2 }, 3);
        return { how: 'final', platform: 'discord', requestId: `dc${sent.id}`, input: i, discord: sent };
      }
      const id = fakeTg.callback(TG_USERS[i.user] as number, TG_GROUP, tgBoard, actionId);
      return { how: 'final', platform: 'telegram', requestId: `tgcb${id}`, input: i };
    }
    default:
      return i satisfies never;
  }
}

const finalsOf = (platform: 'terminal' | 'discord' | 'telegram', requestId: string): Delivery[] => {
  if (platform === 'terminal') return terminal.finals(requestId).map((reply) => ({ requestId, reply, ok: true }));
  const all = platform === 'discord' ? discord.deliveries : telegram.deliveries;
  return all.filter((d) => d.requestId === requestId && isFinal(d.reply));
};

/** The ephemeral answer Discord got at once (a denial from precheck), if any. */
const discordDenial = (s: { id: string; token: string }): DcCall | undefined =>
  fakeDc.calls.find((c) => c.route === `/interactions/${s.id}/${s.token}/callback` && c.body?.['type'] === 4);

async function until(check: () => boolean, what: string, ms = ANSWER_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`no answer within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** How many final answers an input got so far (Discord: an ephemeral denial counts as one). */
function answers(s: Sent): number {
  if (s.how !== 'final') return 0;
  const denial = s.discord ? (discordDenial(s.discord) ? 1 : 0) : 0;
  return denial + finalsOf(s.platform, s.requestId).length;
}

/** A final reply: never an internal error; bad arguments say why in one line and give the usage. */
function expectGoodReply(reply: Reply, s: Sent): void {
  const where = JSON.stringify(s.input).slice(0, 300);
  expect(reply.title, where).not.toBe('Something went wrong');
  if (reply.title.startsWith('Bad arguments for /')) {
    const first = reply.blocks[0];
    expect(first?.type, where).toBe('text');
    expect((first as { text: string }).text, where).not.toMatch(/[\r\n]/);
    const command = COMMANDS.find((c) => `Bad arguments for /${c.name}` === reply.title);
    expect(reply.blocks[1]?.type, where).toBe('code');
    expectUsage((reply.blocks[1] as { text: string }).text, command, where);
  }
}

/**
 * Commands that check their arguments further in their handler answer with a usage of their own: /freeze's "say why
 * after the time" the short form of its usage, /schedule's a line per action. The others give the generated one.
 */
const OWN_USAGE = new Set(['freeze', 'schedule']);

function expectUsage(usage: string, command: (typeof COMMANDS)[number] | undefined, where: string): void {
  expect(command, where).toBeDefined();
  if (!command) return;
  if (!OWN_USAGE.has(command.name)) expect(usage, where).toBe(usageOf(command));
  else for (const line of usage.split('\n')) expect(line, where).toMatch(new RegExp(`^/${command.name}( |$)`));
}

async function settle(s: Sent): Promise<void> {
  const where = JSON.stringify(s.input).slice(0, 300);
  if (s.how === 'nothing') return;
  if (s.how === 'autocomplete') {
    await until(() => fakeDc.calls.some((c) => c.route === `/interactions/${s.id}/${s.token}/callback`), `autocomplete ${where}`);
    const call = fakeDc.calls.find((c) => c.route === `/interactions/${s.id}/${s.token}/callback`);
    expect(call?.body?.['type'], where).toBe(8);
    expect(((call?.body?.['data'] as { choices?: unknown[] } | undefined)?.choices ?? []).length, where).toBeLessThanOrEqual(25);
    return;
  }
  await until(() => answers(s) > 0, where);
  const denial = s.discord ? discordDenial(s.discord) : undefined;
  if (denial) {
    const embed = (denial.body?.['data'] as { embeds?: { title?: string; description?: string }[] } | undefined)?.embeds?.[0];
    expect(embed?.title, where).not.toBe('Something went wrong');
    const [reason = '', usage] = (embed?.description ?? '').split('\n```\n');
    expect(reason, where).not.toMatch(/[\r\n]/);
    const command = COMMANDS.find((c) => `Bad arguments for /${c.name}` === embed?.title);
    if (embed?.title?.startsWith('Bad arguments for /')) {
      expect(usage, where).toMatch(/\n```$/);
      expectUsage((usage ?? '').replace(/\n```$/, ''), command, where);
    }
  }
  for (const d of finalsOf(s.platform, s.requestId)) {
    expect(d.ok, `${where}: ${d.error ?? ''}`).toBe(true);
    expectGoodReply(d.reply, s);
  }
}

beforeAll(async () => {
  fakeDc = new FakeDiscord(DC_TOKEN);
  fakeTg = new FakeTelegram(TG_TOKEN);
  await Promise.all([fakeDc.start(), fakeTg.start()]);
  stack = await startTestStack({
    env: { DISCORD_TOKEN: DC_TOKEN, DISCORD_API_ROOT: fakeDc.apiRoot, TELEGRAM_BOT_TOKEN: TG_TOKEN, TELEGRAM_API_ROOT: fakeTg.apiRoot },
    adjustConfig: (c) => ({
      ...c,
      discord: { ...c.discord, guildIds: [fakeDc.guildId], roleBindings: {} },
      // Mutations run at once (no two-person rule), so fuzzed stops, starts and migrations reach the hosts.
      approvals: { ...c.approvals, enabled: false },
    }),
    makeAdapters: (config) => {
      terminal = new CaptureAdapter('terminal');
      discord = new RecordingDiscord({ config, logger: adapterLogger });
      telegram = new RecordingTelegram({ config, logger: adapterLogger, minIntervalMs: 0, groupPerMinute: 100_000 });
      return [terminal, discord, telegram];
    },
  });
  firstSeq = 0;
  const board = await telegram.post(String(TG_GROUP.id), { kind: 'result', tone: 'info', title: 'fuzz board', blocks: [] });
  tgBoard = board.state['messageId'] as number;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([fakeDc?.stop(), fakeTg?.stop()]);
});

describe('fuzzed chat input through the whole stack', () => {
  it(
    'is answered exactly once, never with an internal error, and only validated, quoted argv reaches the hosts',
    async () => {
      const known = shapes(stack.config);
      const sentAll: Sent[] = [];
      await fc.assert(
        fc.asyncProperty(fc.array(input, { minLength: 1, maxLength: BATCH }), async (batch) => {
          // Errors are checked per run (a late one from an earlier run could only make a run fail that did not cause it).
          adapterErrors.length = 0;
          const sent: Sent[] = [];
          for (const i of batch) sent.push(await send(i));
          sentAll.push(...sent);
          for (const s of sent) await settle(s);
          for (const entry of stack.sim.log.query({ since: firstSeq })) {
            expect(problemWith(entry.command, known), `${entry.host}: ${entry.command}`).toBeNull();
          }
          expect(adapterErrors).toEqual([]);
        }),
        { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
      );
      // Every input answered (those of a run the time limit cut short too), exactly once: a late duplicate would show
      // up after a moment.
      for (const s of sentAll) await settle(s);
      await new Promise((r) => setTimeout(r, 500));
      for (const s of sentAll) if (s.how === 'final') expect(answers(s), JSON.stringify(s.input).slice(0, 300)).toBe(1);
      // What is not a command for this bot (`/list@other_bot`, a bare slash, a text that is no text) is not answered.
      const repliedTo = new Set(
        fakeTg.calls
          .map((c) => (c.body['reply_parameters'] as { message_id?: number } | undefined)?.message_id)
          .filter((m) => m !== undefined),
      );
      for (const s of sentAll)
        if (s.how === 'nothing' && s.tgMessageId !== undefined) expect(repliedTo.has(s.tgMessageId), JSON.stringify(s.input)).toBe(false);
      // The simulator saw work (the fuzz reached the hosts) and every command it saw was well-formed.
      const log = stack.sim.log.query({ since: firstSeq });
      expect(log.length).toBeGreaterThan(0);
      for (const entry of log) expect(problemWith(entry.command, known), `${entry.host}: ${entry.command}`).toBeNull();
    },
    TIME_LIMIT_MS + 60_000,
  );
});

describe('the simulator-log check itself', () => {
  it('passes what the drivers send and catches anything else', () => {
    const known = shapes(stack.config);
    for (const ok of [
      'xl list -v',
      'timeout 30 xl shutdown -w web',
      'xl destroy xen1-web.2',
      'tail -c 262144 /var/log/xen/console/guest-mail.log',
      'tail -c 261000 /var/log/xen/console/guest-mail.log.1',
      'xm list mail',
    ])
      expect(problemWith(ok, known), ok).toBeNull();
    for (const bad of [
      'xl shutdown -w web; reboot',
      'xl destroy web;id',
      'xl destroy $(id)',
      'xl destroy `id`',
      'xl destroy "web"',
      "xl destroy 'web;id'",
      "xl destroy 'it'\\''s'",
      'xl destroy web | sh',
      'xl destroy Domain-0',
      'xl destroy 12345',
      'xl create /etc/xen/vm/../../passwd',
      'tail -c 262144 /var/log/xen/console/guest-a;b.log',
      'tail -c 262144 /var/log/xen/console/guest-a;b.log.1',
      'tail -n 20 /var/log/xen/console/guest-mail.log',
      'xl list a;b',
      'xl list -v # comment',
      'xl migrate web evil.example',
    ])
      expect(problemWith(bad, known), bad).not.toBeNull();
  });
});
