import { afterAll, beforeAll } from 'vitest';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import type { Config } from '../../src/config/schema.ts';
import { type DcCall, type DcMessage, FakeDiscord } from './fake-discord/server.ts';
import { quietLogger } from './sim.ts';
import { fleetWarm, startTestStack, type TestStack } from './stack.ts';

/** The embeds a call to the fake Discord sent, as JSON text to match against. */
export const embeds = (c: DcCall): string => JSON.stringify((c.body?.['embeds'] as unknown[] | undefined) ?? []);

/** The embeds a message shows now, as JSON text. */
export const shown = (m: DcMessage | undefined): string => JSON.stringify(m?.embeds ?? []);

/** The approval id an "Approval needed" card's text names, or ''. */
export const approvalIdIn = (text: string): string => /Approval needed: [^<\n"]*? — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

/** The demo stack behind the real discord.js client against the fake Discord, for one test file (see discordStack). */
export interface DiscordStack {
  /** Made at once, so its ids and guilds can be set up at the top of the file; started before the tests. */
  readonly dc: FakeDiscord;
  readonly stack: TestStack;
  readonly adapter: DiscordAdapter;
  /** How many commands matching `re` a simulated host received. */
  sent(host: string, re: RegExp): number;
}

/**
 * The demo stack with one Discord adapter for one test file: the fake Discord and the stack started before its tests
 * (the bot's fleet view warm unless `warm: false`), both stopped after them. Call at the top of the file. Commands
 * are registered in the fake's guild, or globally with `global: true` (as direct messages need).
 */
export function discordStack(options: {
  token: string;
  /** discord.roleBindings: Discord role id to xenops roles; none by default. */
  roleBindings?: Record<string, string[]>;
  global?: boolean;
  /** A Discord channel that approval cards are posted to as well. */
  approvalsChannel?: string;
  /** Applied after the Discord settings above. */
  adjustConfig?: (config: Config) => Config;
  warm?: boolean;
}): DiscordStack {
  const dc = new FakeDiscord(options.token);
  let stack: TestStack | null = null;
  let adapter: DiscordAdapter | null = null;
  const started = () => {
    if (!stack || !adapter) throw new Error('discordStack: the stack is not started (call it at the top of the file)');
    return { stack, adapter };
  };
  beforeAll(async () => {
    await dc.start();
    stack = await startTestStack({
      env: { DISCORD_TOKEN: options.token, DISCORD_API_ROOT: dc.apiRoot },
      adjustConfig: (c: Config): Config => {
        const withDiscord: Config = {
          ...c,
          discord: { ...c.discord, guildIds: options.global ? [] : [dc.guildId], roleBindings: options.roleBindings ?? {} },
          ...(options.approvalsChannel
            ? { approvals: { ...c.approvals, channels: [{ platform: 'discord', id: options.approvalsChannel }] } }
            : {}),
        };
        return options.adjustConfig ? options.adjustConfig(withDiscord) : withDiscord;
      },
      makeAdapters: (config) => {
        adapter = new DiscordAdapter({ config, logger: quietLogger });
        return [adapter];
      },
    });
    if (options.warm !== false) await fleetWarm(stack);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await dc.stop();
  });
  return {
    dc,
    get stack() {
      return started().stack;
    },
    get adapter() {
      return started().adapter;
    },
    sent: (host, re) => (started().stack.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c)).length,
  };
}
