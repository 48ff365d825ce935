import { REST, Routes } from 'discord.js';
import type { Config } from '../../config/schema.ts';
import { type Logger, redactSecrets, registerSecret } from '../../core/log.ts';
import type { CommandSpec } from '../types.ts';

export interface DiscordCommand {
  name: string;
  description: string;
  type: 1;
  options: {
    type: 3 | 4 | 5;
    name: string;
    description: string;
    required: boolean;
    autocomplete?: boolean;
    min_value?: number;
    max_value?: number;
  }[];
  default_member_permissions: string | null;
}

/** Admin-level and dangerous commands stay out of members' menus (Manage Server); the bot still checks its own rules. */
const MANAGE_GUILD = String(1n << 5n);

/** Slash command JSON from the command specs (themselves derived from the zod schemas). Pure. */
export function toDiscordCommands(specs: readonly CommandSpec[]): DiscordCommand[] {
  return specs.map((s) => ({
    name: s.name,
    description: s.description.slice(0, 100),
    type: 1,
    options: s.options.map((o) => ({
      type: o.type === 'boolean' ? 5 : o.type === 'integer' ? 4 : 3,
      name: o.name,
      description: o.description.slice(0, 100),
      required: o.required,
      ...(o.autocomplete ? { autocomplete: true } : {}),
      ...(o.min === undefined ? {} : { min_value: o.min }),
      ...(o.max === undefined ? {} : { max_value: o.max }),
    })),
    default_member_permissions: s.risk === 'dangerous' || s.permission === 'audit.read' ? MANAGE_GUILD : null,
  }));
}

/** Whether the registered set differs from the wanted one (only the fields we set are compared). */
export function commandsDiffer(wanted: readonly DiscordCommand[], registered: readonly Partial<DiscordCommand>[]): boolean {
  const norm = (c: Partial<DiscordCommand>) =>
    JSON.stringify({
      name: c.name,
      description: c.description,
      options: (c.options ?? []).map((o) => ({
        type: o.type,
        name: o.name,
        description: o.description,
        required: !!o.required,
        autocomplete: !!o.autocomplete,
        min: o.min_value,
        max: o.max_value,
      })),
      perms: c.default_member_permissions ?? null,
    });
  const a = [...wanted].map(norm).sort();
  const b = [...registered].map(norm).sort();
  return a.length !== b.length || a.some((x, i) => x !== b[i]);
}

/** The API root: the config's, DISCORD_API_ROOT (a local fake), or undefined for discord.com. */
export function discordApiRoot(config: Config): string | undefined {
  return config.discord?.apiRoot ?? process.env['DISCORD_API_ROOT'];
}

export function discordRest(config: Config): { rest: REST; token: string } {
  const token = config.discord?.token ?? process.env['DISCORD_TOKEN'];
  if (!token) throw new Error('Discord needs a token: discord.token in the config or DISCORD_TOKEN');
  registerSecret(token);
  const apiRoot = discordApiRoot(config);
  return { rest: new REST({ ...(apiRoot ? { api: apiRoot } : {}) }).setToken(token), token };
}

/**
 * The REST for an interaction's own webhook (`/webhooks/{app}/{token}…`: edits of the deferred reply, follow-ups,
 * their pings), used with `auth: false` as discord.js does for it: the interaction token is the credential. Discord
 * does not count interaction endpoints against the bot's global 50 requests/s (discord-api-docs#4416) — unless they
 * carry the bot token (#4142) — so @discordjs/rest's global limiter is off here: it held every request past the 50th
 * in a second and let them all go at once at the next, so the results of a busy second landed together and their
 * users' next commands arrived in one burst. Per-route limits (one bucket per token, from the response headers),
 * 429s and the order of one interaction's edits (one queue per token) are kept.
 */
export function interactionRest(config: Config): REST {
  const apiRoot = discordApiRoot(config);
  return new REST({ ...(apiRoot ? { api: apiRoot } : {}), globalRequestsPerSecond: Number.POSITIVE_INFINITY });
}

/**
 * Registers per guild (instant) when guilds are configured, else globally; only when something changed. The commands
 * the config disables are left out (they would be in the menu only to be answered "there is no /x here"). A guild
 * that refuses (the bot was removed from it) does not keep the others from theirs: they are all tried, then the error
 * names each that refused.
 */
export async function registerCommands(
  config: Config,
  specs: readonly CommandSpec[],
  logger: Logger,
  applicationId?: string,
  rest = discordRest(config).rest,
): Promise<number> {
  const appId = applicationId ?? config.discord?.applicationId ?? ((await rest.get(Routes.currentApplication())) as { id: string }).id;
  const wanted = toDiscordCommands(specs.filter((s) => config.commands[s.name]?.disabled !== true));
  const scopes = config.discord?.guildIds.length
    ? config.discord.guildIds.map((g) => ({ name: `guild ${g}`, route: Routes.applicationGuildCommands(appId, g) }))
    : [{ name: 'the application (global)', route: Routes.applicationCommands(appId) }];
  let changed = 0;
  const refused: string[] = [];
  for (const { name, route } of scopes) {
    try {
      const registered = (await rest.get(route)) as Partial<DiscordCommand>[];
      if (!commandsDiffer(wanted, registered)) continue;
      await rest.put(route, { body: wanted });
      changed++;
    } catch (error) {
      logger.error({ err: redactSecrets(String(error)), route }, 'registering Discord commands failed');
      refused.push(`${name} (${redactSecrets(error instanceof Error ? error.message : String(error))})`);
    }
  }
  if (refused.length > 0) {
    const others = refused.length < scopes.length ? '; the other guilds have them' : '';
    throw new Error(`Discord refused the slash commands for ${refused.join(', ')}${others}`);
  }
  return changed;
}
