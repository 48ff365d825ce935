import { randomBytes } from 'node:crypto';
import {
  ApplicationCommandOptionType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Interaction,
  type InteractionReplyOptions,
  MessageFlags,
  type REST,
  RESTJSONErrorCodes,
  type RequestData,
  Routes,
  Status,
} from 'discord.js';
import type { Config } from '../../config/schema.ts';
import { type Logger, redactSecrets } from '../../core/log.ts';
import { type Reply, reply as replies } from '../../core/reply.ts';
import { withTimeout } from '../../core/with-timeout.ts';
import { ClassifiedDeliveries } from '../delivery-failure.ts';
import { markMaybeDelivered } from '../maybe-delivered.ts';
import type { BotCore, ChatAdapter, ReplyTarget } from '../types.ts';
import { isBotTokenRefused, isReplyRefused, mayHaveTakenEffect } from './api-errors.ts';
import { sendDefer } from './defer.ts';
import { AUTOCOMPLETE_ROLES_WAIT_MS, guildsToAsk, MemberRoleLookup, type MemberRoles } from './member-roles.ts';
import { answeredPrivately, answersSomeone, privateNote } from './private-answer.ts';
import { discordApiRoot, discordRest, interactionRest, registerCommands } from './register.ts';
import { type DiscordPayload, mentionMessages, renderDiscord } from './render.ts';
import { mendShardStop } from './shard-stop.ts';
import { autocompletePartial, chatInputToRequest } from './to-request.ts';

export interface DiscordAdapterOptions {
  config: Config;
  logger: Logger;
  /** How long a start may wait for the gateway to let the bot in (READY). @defaultValue START_TIMEOUT_MS */
  startTimeoutMs?: number;
}

/**
 * A start that is not in by then gives up (the client is stopped): discord.js would otherwise try for ever, and a bot
 * leader under bot.ha would hold the lease with nobody on the gateway. Discord's READY comes within seconds; discord.js
 * itself waits up to 15 s for the guilds after it.
 */
const START_TIMEOUT_MS = 60_000;

/** Interaction tokens live 15 minutes; stop using one a little before that. */
const TOKEN_LIFETIME_MS = 14 * 60_000;

/**
 * The JSON body of a message create/edit. `content` carries the mentions (embeds never notify); an edit always
 * sends it, so a message that mentioned someone stops doing so once it shows an outcome, and always sends
 * `components`, so the buttons of a settled request go away (`[]`).
 */
function body(payload: DiscordPayload, edit: boolean, extra: Record<string, unknown> = {}) {
  return {
    body: {
      ...(edit || payload.content ? { content: payload.content } : {}),
      allowed_mentions: payload.allowedMentions,
      embeds: payload.embeds,
      components: payload.components,
      // On an edit this list is the message's whole set of files: older uploads not named here are removed, so a
      // chart redrawn on each update replaces the previous one instead of piling up.
      attachments: payload.files.map((f, i) => ({ id: i, filename: f.name, ...(f.description ? { description: f.description } : {}) })),
      ...extra,
    },
    files: payload.files.map((f) => ({ name: f.name, data: f.data, ...(f.contentType ? { contentType: f.contentType } : {}) })),
  };
}

/** An interaction's webhook is authorized by its token, not the bot's (see interactionRest). */
const HOOK = { auth: false } as const;

/**
 * The Discord adapter: a gateway client with only the Guilds intent, slash commands derived from the command
 * specs, every interaction deferred at once (denials in a guild answered ephemerally first), results edited into
 * the deferred reply through the interaction webhook — or posted to the channel once the token has expired, except
 * private answers, which then go to the asker's direct messages (see answerPrivately).
 */
export class DiscordAdapter implements ChatAdapter {
  readonly platform = 'discord' as const;
  private client: Client;
  /** A destroyed client is not reused: a start after a stop (bot.ha) gets a new one, with its handlers once. */
  private destroyed = false;
  private readonly rest: REST;
  /** For the interaction's own webhook (edits of the deferred reply, follow-ups): see interactionRest. */
  private readonly hooks: REST;
  private readonly token: string;
  /** The roles of a direct message's user (a direct message carries none): see rolesOf. */
  private readonly memberRoles: MemberRoleLookup;
  /** Set while a start runs: stop() ends it (a start waiting on the gateway rejects at once). */
  private abortStart: (() => void) | null = null;
  /** Each delivery's failure classified for the relay (see DeliveryFailure); a refused bot token said once. */
  private readonly classifier: ClassifiedDeliveries;

  constructor(private readonly options: DiscordAdapterOptions) {
    mendShardStop();
    const { rest, token } = discordRest(options.config);
    this.rest = rest;
    this.hooks = interactionRest(options.config);
    this.token = token;
    this.memberRoles = new MemberRoleLookup(rest);
    this.classifier = new ClassifiedDeliveries({
      platform: 'discord',
      isTokenRefused: isBotTokenRefused,
      refusesReply: isReplyRefused,
      logger: options.logger,
      message: 'Discord refuses the bot token (401 Unauthorized: reset or revoked?); replies wait until the bot runs with a valid token',
    });
    this.client = this.newClient();
  }

  private newClient(): Client {
    const apiRoot = discordApiRoot(this.options.config);
    return new Client({ intents: [GatewayIntentBits.Guilds], ...(apiRoot ? { rest: { api: apiRoot } } : {}) });
  }

  async start(core: BotCore): Promise<void> {
    const { logger, config } = this.options;
    if (this.destroyed) {
      this.client = this.newClient();
      this.destroyed = false;
    }
    this.client.on(Events.Error, (e) => logger.error({ err: redactSecrets(String(e)) }, 'discord client error'));
    this.client.on(Events.ShardError, (e) => logger.error({ err: redactSecrets(String(e)) }, 'discord shard error'));
    this.client.on(Events.InteractionCreate, (interaction) => {
      this.onInteraction(core, interaction).catch((e: unknown) =>
        logger.error({ err: redactSecrets(String(e)) }, 'discord interaction failed (bot keeps running)'),
      );
    });
    const ready = new Promise<void>((resolve) => this.client.once(Events.ClientReady, () => resolve()));
    const stopped = new Promise<never>((_, reject) => {
      this.abortStart = () => reject(new Error('discord stopped while starting'));
    });
    const limitMs = this.options.startTimeoutMs ?? START_TIMEOUT_MS;
    try {
      await withTimeout(
        Promise.race([this.client.login(this.token).then(() => ready), stopped]),
        limitMs,
        `Discord's gateway did not let the bot in within ${limitMs / 1000} s`,
      );
    } catch (error) {
      // Left connecting, discord.js would go on trying (and could get in later, alongside the next leader).
      if (!this.destroyed) {
        this.destroyed = true;
        await this.client.destroy().catch(() => {});
      }
      throw new Error(redactSecrets(error instanceof Error ? error.message : String(error)));
    } finally {
      this.abortStart = null;
    }
    const appId = this.client.application?.id;
    await registerCommands(config, core.commandSpecs(), logger, appId, this.rest).catch((e: unknown) =>
      logger.error({ err: redactSecrets(String(e)) }, 'command registration failed'),
    );
  }

  private async onInteraction(core: BotCore, interaction: Interaction): Promise<void> {
    const receivedAt = Date.now();
    const channel = { id: interaction.channelId ?? 'dm', kind: interaction.guildId ? ('group' as const) : ('direct' as const) };
    const requestId = `dc${interaction.id}`;
    // A direct message's roles are a REST lookup (see rolesOf), which a slow or retried Discord stretches past the
    // 3 s the initial response must come in: there the defer goes first, and what the roles decide is answered
    // through it (only the user sees a direct message: ephemeral or not is all one there). In a guild the roles come
    // with the interaction: a denial is answered ephemerally, before any defer.
    const deferFirst = interaction.guildId === null ? this.deferOf(interaction) : null;
    if (deferFirst && !(await this.deferred(deferFirst, requestId))) return;
    const roles = await this.rolesOf(interaction);
    const roleIds = roles.ok ? roles.roleIds : [];
    const actor = { platform: 'discord' as const, userId: interaction.user.id, roleIds, displayName: interaction.user.username };
    if (interaction.isAutocomplete()) {
      if (!roles.ok) return await this.refuseUnknownRoles(interaction, roles.reason, null);
      const focused = interaction.options.getFocused(true);
      await interaction.respond(
        fitChoices(core.autocomplete(actor, channel, interaction.commandName, focused.name, autocompletePartial(focused.value))),
      );
      return;
    }
    const state = {
      appId: interaction.applicationId,
      token: interaction.token,
      expiresAt: receivedAt + TOKEN_LIFETIME_MS,
      channelId: channel.id,
      // Whom a private answer goes to (a direct message) once the token no longer takes it, and what the channel is
      // told it answered when even that fails.
      userId: actor.userId,
      ...(interaction.isChatInputCommand() ? { command: interaction.commandName } : {}),
      ...(interaction.isButton() ? { component: true } : {}),
    };
    const target: ReplyTarget = { platform: 'discord', channelId: channel.id, requestId, state };
    if (!roles.ok) return await this.refuseUnknownRoles(interaction, roles.reason, deferFirst ? target : null);
    if (interaction.isChatInputCommand()) {
      const req = chatInputToRequest({
        id: interaction.id,
        guildId: interaction.guildId,
        channelId: channel.id,
        userId: actor.userId,
        username: actor.displayName,
        roleIds,
        commandName: interaction.commandName,
        options: interaction.options.data.map((o) => ({
          name: o.name,
          ...(o.value === undefined || o.value === null ? {} : { value: o.value }),
          // xenops registers no subcommands: one comes from a stale registration, its options nested inside it. Kept
          // as an option, it is refused by name with the usage, not dropped with all that was typed in it.
          ...(o.type === ApplicationCommandOptionType.Subcommand || o.type === ApplicationCommandOptionType.SubcommandGroup
            ? { value: true }
            : {}),
        })),
        receivedAt,
      });
      const denial = core.precheck(req);
      if (denial) {
        // Deferred already: the denial fills the "thinking…" reply, as any answer does.
        if (deferFirst) await this.deliver(target, { ...denial, private: false });
        else await interaction.reply(ephemeral(denial));
        return;
      }
      if (!deferFirst && !(await this.deferred(() => interaction.deferReply(), requestId))) return;
      void core.handle(req, target);
      return;
    }
    if (interaction.isButton()) {
      if (!deferFirst && !(await this.deferred(() => interaction.deferUpdate(), requestId))) return;
      void core.handleAction({ id: requestId, actionId: interaction.customId, platform: 'discord', actor, channel, receivedAt }, target);
    }
  }

  /** An interaction's defer: a command's "thinking…" reply, a click's update held; none for others (autocomplete). */
  private deferOf(interaction: Interaction): (() => Promise<unknown>) | null {
    if (interaction.isChatInputCommand()) return () => interaction.deferReply();
    if (interaction.isButton()) return () => interaction.deferUpdate();
    return null;
  }

  /**
   * The Discord roles of the interaction's user where it came from. In a guild: those Discord sent with it, that
   * guild's alone. A direct message carries none: their memberships in the guilds holding a role discord.roleBindings
   * names are looked up (a user known only by such a role was otherwise "not known" there); the roles of several
   * guilds add up, which gives nothing the user could not do in one of those guilds (any deny of any of them still
   * counts). Not a member of any: no roles. A lookup that fails is not taken for "no roles": see refuseUnknownRoles.
   */
  private async rolesOf(interaction: Interaction): Promise<MemberRoles> {
    if (interaction.guildId !== null) {
      const member = interaction.member;
      const roleIds = member && 'roles' in member ? (Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()]) : [];
      return { ok: true, roleIds };
    }
    const bound = new Set(Object.keys(this.options.config.discord?.roleBindings ?? {}));
    if (bound.size === 0) return { ok: true, roleIds: [] };
    const guilds = guildsToAsk(
      this.client.guilds.cache.map((g) => ({ id: g.id, roleIds: g.roles.cache.keys() })),
      bound,
    );
    // An autocomplete cannot be deferred: it waits only what its 3 s allow (a command or a click is deferred by now).
    return this.memberRoles.of(interaction.user.id, guilds, interaction.isAutocomplete() ? { waitMs: AUTOCOMPLETE_ROLES_WAIT_MS } : {});
  }

  /**
   * A user's roles now, in the guilds holding a role discord.roleBindings names (as for a direct message): an approved
   * request's requester is checked again with them. Never started (a standby) or stopped, the guilds are not known here
   * (a gateway reconnecting keeps them: the lookup itself is over REST).
   */
  async currentRoles(userId: string): Promise<MemberRoles> {
    if (this.destroyed || !this.client.isReady()) return { ok: false, reason: 'this bot is not connected to Discord now' };
    const bound = new Set(Object.keys(this.options.config.discord?.roleBindings ?? {}));
    if (bound.size === 0) return { ok: true, roleIds: [] };
    const guilds = guildsToAsk(
      this.client.guilds.cache.map((g) => ({ id: g.id, roleIds: g.roles.cache.keys() })),
      bound,
    );
    // Asked now: an answer kept from their direct message (30 s) would count a role taken away since.
    return this.memberRoles.of(userId, guilds, { fresh: true });
  }

  /**
   * A direct message whose user's roles Discord would not tell: refused, saying why and what to do, nothing run.
   * `deferred`: the interaction's target once deferred; the refusal goes through it — for a click as a follow-up only
   * the user sees, the message clicked (an approval card) left as it is.
   */
  private async refuseUnknownRoles(interaction: Interaction, reason: string, deferred: ReplyTarget | null): Promise<void> {
    this.options.logger.warn(
      { err: reason, userId: interaction.user.id },
      "could not look up a direct message's user's roles in the guilds; the interaction is refused",
    );
    if (interaction.isAutocomplete()) return await interaction.respond([]);
    if (!interaction.isRepliable()) return;
    const refusal = replies.error(
      'Roles unknown',
      'xenops could not look up your roles in its Discord servers just now (a direct message carries none, so it asks ' +
        'Discord, which did not answer): try again in a moment, or use the command in the server',
    );
    if (deferred) await this.deliver(deferred, { ...refusal, private: deferred.state['component'] === true });
    else await interaction.reply(ephemeral(refusal));
  }

  /**
   * Whether to handle an interaction after its defer: yes unless Discord refused it. A defer taken but unanswered
   * must not leave "thinking…" forever with nothing run; one that may not have been taken is handled too — its
   * result then edits the reply, or, the token being unusable, goes to the channel — so the user is never left
   * without an answer to a command that ran. Handling an event twice (a defer answered 40060 for a gateway
   * redelivery) is safe: the core acts on a request id once.
   */
  private async deferred(defer: () => Promise<unknown>, requestId: string): Promise<boolean> {
    const outcome = await sendDefer(defer);
    if (outcome.kind === 'taken') return true;
    const err = redactSecrets(String(outcome.error));
    if (outcome.kind === 'refused') {
      this.options.logger.warn({ err, requestId }, 'Discord refused the defer; the interaction is dropped (the user sees it failed)');
      return false;
    }
    this.options.logger.warn({ err, requestId }, 'no answer to the defer; handling the interaction anyway');
    return true;
  }

  async stop(): Promise<void> {
    this.destroyed = true;
    this.abortStart?.();
    await this.client.destroy();
  }

  /**
   * The gateway connection is up now. client.isReady() is not that: the client's own status is Ready from the first
   * READY on and stays so while the connection is down — reconnecting, or closed for good (4004, a revoked token) —
   * so /readyz said "discord connected" to a bot nobody could reach. Each shard's status follows its connection.
   */
  connected(): boolean {
    const shards = this.client.ws.shards;
    return this.client.isReady() && shards.size > 0 && shards.every((s) => s.status === Status.Ready);
  }

  async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    // @discordjs/rest forgets the token at a 401 and from then on fails every request before sending it, so one 401
    // would keep every later channel post, direct message and edit from reaching Discord until a restart.
    this.rest.setToken(this.token);
    return await this.classifier.deliver(() => this.deliverReply(target, reply));
  }

  private async deliverReply(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    const payload = renderDiscord(reply);
    const s = target.state;
    const appId = String(s['appId'] ?? '');
    const token = String(s['token'] ?? '');
    const live = typeof s['expiresAt'] === 'number' && Date.now() < s['expiresAt'] && token !== '';
    const privately = answeredPrivately(s) || (reply.private === true && answersSomeone(s));
    if (live && !answeredPrivately(s)) {
      try {
        if (reply.private) {
          // Ephemerality is fixed at defer time: replace the public "thinking…" with an ephemeral follow-up.
          // (For a button click, @original is the message holding the button: it stays.)
          if (s['component'] !== true) await this.hooks.delete(Routes.webhookMessage(appId, token, '@original'), HOOK).catch(() => {});
          await this.hooks
            .post(Routes.webhook(appId, token), { ...body(payload, false, { flags: MessageFlags.Ephemeral }), ...HOOK })
            .catch((e: unknown) => Promise.reject(mayHaveTakenEffect(e) ? markMaybeDelivered(e) : e));
          return target;
        }
        const edited = (await this.hooks.patch(Routes.webhookMessage(appId, token, '@original'), { ...body(payload, true), ...HOOK })) as {
          id?: unknown;
        };
        // Kept so the message can still be edited through the channel once the token has expired (an approval card
        // settled after 14 minutes must still lose its buttons, not leave them and post the outcome elsewhere).
        const known = typeof edited?.id === 'string' ? { ...target, state: { ...s, messageId: edited.id } } : target;
        // Filling a deferred reply is an edit, and edits never notify: the mentions get a message of their own.
        return await this.ping(known, reply, payload, (data) => this.hooks.post(Routes.webhook(appId, token), { ...data, ...HOOK }));
      } catch (error) {
        // Only a refusal says the webhook took nothing (the token expired, the deferred reply was deleted). With no
        // answer (a 5xx on every try, a timeout, a lost connection) the edit may be showing: posted to the channel as
        // well, the result would show twice. It is tried again later instead (an edit made twice changes nothing).
        if (!(error instanceof DiscordAPIError)) throw error;
        const instead = privately ? 'answering the asker privately instead' : 'posting to the channel instead';
        this.options.logger.warn({ err: redactSecrets(String(error)) }, `interaction token unusable; ${instead}`);
      }
    }
    // A private answer never goes to the channel with its content: the channel is everyone, not the asker.
    if (privately) return await this.answerPrivately(target, payload);
    try {
      return await this.deliverToChannel(target, reply, payload);
    } catch (error) {
      // The channel was deleted, or the bot lost access to it: the answer goes to the asker in a direct message rather
      // than to nobody, and every later delivery for the target follows it there (answeredPrivately).
      if (!isChannelGone(error) || !answersSomeone(s)) throw error;
      this.options.logger.warn(
        { err: redactSecrets(String(error)), requestId: target.requestId },
        "the request's channel cannot be reached; answering the asker in a direct message",
      );
      return { ...(await this.answerPrivately(target, payload)), privately: true };
    }
  }

  /** The reply as a channel message: the target's own edited, else a new one. */
  private async deliverToChannel(target: ReplyTarget, reply: Reply, payload: DiscordPayload): Promise<ReplyTarget> {
    const s = target.state;
    // The token outlived its 15 minutes (or is gone): the result goes out as a normal channel message.
    const postToChannel = (data: RequestData) => this.createMessage(target.channelId, data);
    const messageId = typeof s['messageId'] === 'string' ? s['messageId'] : null;
    if (messageId) {
      try {
        await this.rest.patch(Routes.channelMessage(target.channelId, messageId), body(payload, true));
        return await this.ping(target, reply, payload, postToChannel);
      } catch (error) {
        // Someone deleted the message meanwhile (a moderator, while a 20-minute migration ran): the reply is not
        // lost with it but posted anew, and later edits go to the new message.
        if (!(error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.UnknownMessage)) throw error;
        this.options.logger.warn({ requestId: target.requestId }, 'the message to edit was deleted; posting the reply anew');
      }
    }
    // A new message notifies the users its content mentions — but not again those pinged for this target already.
    const before = mentionedOf(target);
    const users = payload.allowedMentions.users.filter((u) => !before.includes(u));
    const sent = await postToChannel(body({ ...payload, allowedMentions: { parse: [], users } }, false));
    const mentioned = [...before, ...users];
    const posted = { ...target, state: { channelId: target.channelId, messageId: sent.id, ...(mentioned.length ? { mentioned } : {}) } };
    // Those the content had no room for.
    return await this.ping(posted, reply, payload, postToChannel);
  }

  /**
   * A private answer the interaction's webhook cannot take (the token expired, or Discord refuses it): it goes to the
   * asker in a direct message. The channel gets only a note, without the answer: in place of the target's own public
   * message if it has one (its "running…" would otherwise stay), or — when the direct message failed too, so the asker
   * has nothing else to go by — as a new message that pings the asker. Throws only when neither got through.
   * Each is tried once for the target, not again for every later update (a long job's progress): a user who takes no
   * direct messages (50007) is not asked again, and a note the channel refused is not written again for the same news.
   */
  private async answerPrivately(target: ReplyTarget, payload: DiscordPayload): Promise<ReplyTarget> {
    const s = target.state;
    const userId = typeof s['userId'] === 'string' ? s['userId'] : null;
    let state: ReplyTarget['state'] = { ...s, private: true };
    let sent = false;
    if (userId && s['dmRefused'] !== true) {
      try {
        state = { ...state, ...(await this.directMessage(userId, s, payload)) };
        sent = true;
      } catch (error) {
        // A 403 each time otherwise, and 403s count towards Discord's invalid-request limit (a ban of the bot's address).
        if (error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.CannotSendMessagesToThisUser)
          state = { ...state, dmRefused: true };
        this.options.logger.warn(
          { err: redactSecrets(String(error)), requestId: target.requestId },
          'a private answer could not be sent as a direct message either; the channel is told, without the answer',
        );
      }
    }
    const told = sent ? 'sent' : 'failed';
    if (s['notice'] === told) return { ...target, state };
    // For a button click the target's message is the one holding the button (an approval card): it is never replaced.
    const own = s['component'] !== true && typeof s['messageId'] === 'string' ? s['messageId'] : null;
    const noticeId = typeof s['noticeId'] === 'string' ? s['noticeId'] : own;
    // Delivered, with nothing public left to tidy: the direct message notifies the asker by itself.
    if (sent && noticeId === null) return { ...target, state };
    try {
      const id = await this.notice(target.channelId, noticeId, privateNote(s, sent), userId);
      return { ...target, state: { ...state, notice: told, noticeId: id } };
    } catch (error) {
      if (!sent) throw error;
      this.options.logger.warn({ err: redactSecrets(String(error)), requestId: target.requestId }, 'the channel note could not be updated');
      // The asker has the answer; the channel (gone, or refusing the bot) is not asked again for the same note.
      return { ...target, state: { ...state, notice: told } };
    }
  }

  /** The asker's direct message with the answer: the one sent for this target before is edited, or one is posted. */
  private async directMessage(
    userId: string,
    s: ReplyTarget['state'],
    payload: DiscordPayload,
  ): Promise<{ dmChannelId: string; dmMessageId: string }> {
    // Nobody else reads a direct message: whom the answer names is not pinged there.
    const quiet: DiscordPayload = { ...payload, allowedMentions: { parse: [], users: [] } };
    const known = typeof s['dmChannelId'] === 'string' ? s['dmChannelId'] : null;
    const dmChannelId = known ?? ((await this.rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as { id: string }).id;
    const before = typeof s['dmMessageId'] === 'string' ? s['dmMessageId'] : null;
    if (known && before) {
      try {
        await this.rest.patch(Routes.channelMessage(dmChannelId, before), body(quiet, true));
        return { dmChannelId, dmMessageId: before };
      } catch (error) {
        // The asker deleted it: the new answer is posted anew.
        if (!(error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.UnknownMessage)) throw error;
      }
    }
    const sent = await this.createMessage(dmChannelId, body(quiet, false));
    return { dmChannelId, dmMessageId: sent.id };
  }

  /** The channel note: `messageId` edited to show only `text` (its embeds, buttons and files go), else a new message. */
  private async notice(channelId: string, messageId: string | null, text: string, userId: string | null): Promise<string> {
    const allowed = { parse: [], users: userId ? [userId] : [] };
    if (messageId) {
      try {
        const note = { content: text, allowed_mentions: allowed, embeds: [], components: [], attachments: [] };
        await this.rest.patch(Routes.channelMessage(channelId, messageId), { body: note });
        return messageId;
      } catch (error) {
        if (!(error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.UnknownMessage)) throw error;
      }
    }
    const posted = await this.createMessage(channelId, { body: { content: text, allowed_mentions: allowed } });
    return posted.id;
  }

  /**
   * After an edit that mentions someone not yet notified for this target, or a message with no room for them all:
   * short new messages that ping them (an edit notifies nobody). Each person is pinged once per target, however
   * often the message changes. Never throws: a ping that fails is tried again on the target's next delivery.
   */
  private async ping(
    target: ReplyTarget,
    reply: Reply,
    payload: DiscordPayload,
    post: (data: RequestData) => Promise<unknown>,
  ): Promise<ReplyTarget> {
    const before = mentionedOf(target);
    let mentioned = before;
    for (const m of mentionMessages(
      payload.mentions.filter((u) => !before.includes(u)),
      reply.title,
    )) {
      try {
        await post({ body: { content: m.content, allowed_mentions: { parse: [], users: m.users } } });
      } catch (error) {
        // The message itself was delivered; a lost ping must not make it go out twice.
        this.options.logger.warn({ err: redactSecrets(String(error)) }, 'mention could not be sent');
        break;
      }
      mentioned = [...mentioned, ...m.users];
    }
    return mentioned === before ? target : { ...target, state: { ...target.state, mentioned } };
  }

  /**
   * A new message in a channel, created once however often the request goes out: @discordjs/rest sends it again itself
   * after a 5xx or a timeout, which Discord may have acted on, and Discord answers a repeat of an enforced nonce (within
   * a few minutes) with the message it created. A failure after which it may be there all the same is marked: not to
   * be sent again later (see markMaybeDelivered).
   */
  private async createMessage(channelId: string, data: RequestData): Promise<{ id: string }> {
    const nonce = randomBytes(12).toString('base64url');
    try {
      return (await this.rest.post(Routes.channelMessages(channelId), {
        ...data,
        body: { ...(data.body as Record<string, unknown>), nonce, enforce_nonce: true },
      })) as { id: string };
    } catch (error) {
      throw mayHaveTakenEffect(error) ? markMaybeDelivered(error) : error;
    }
  }

  /** Pins a delivered channel message (a scheduled post kept up to date in place); needs Manage Messages. */
  async pin(target: ReplyTarget): Promise<void> {
    const messageId = target.state['messageId'];
    if (typeof messageId !== 'string') return;
    await this.rest.put(Routes.channelPin(target.channelId, messageId));
  }

  async post(channelId: string, reply: Reply): Promise<ReplyTarget> {
    return this.deliver({ platform: 'discord', channelId, requestId: `post-${Date.now()}`, state: {} }, reply);
  }
}

/** A reply only its asker sees, as the initial response to an interaction. */
function ephemeral(r: Reply): InteractionReplyOptions & { flags: MessageFlags.Ephemeral } {
  const p = renderDiscord(r);
  return {
    embeds: p.embeds,
    files: p.files.map((f) => ({ attachment: f.data, name: f.name, ...(f.description ? { description: f.description } : {}) })),
    flags: MessageFlags.Ephemeral,
  };
}

/** Discord refuses the channel itself: deleted (Unknown Channel), or the bot may no longer see or post in it. */
function isChannelGone(error: unknown): boolean {
  return (
    error instanceof DiscordAPIError &&
    (error.code === RESTJSONErrorCodes.UnknownChannel ||
      error.code === RESTJSONErrorCodes.MissingAccess ||
      error.code === RESTJSONErrorCodes.MissingPermissions)
  );
}

/** The users already pinged for a target. */
function mentionedOf(target: ReplyTarget): string[] {
  return Array.isArray(target.state['mentioned']) ? target.state['mentioned'].map(String) : [];
}

/**
 * Discord refuses the whole list when one choice's name is over 100 characters or its value over 100 (a 64-character
 * guest name as host:domain, with "(host, status)" after it): names are cut, such values left out; at most 25.
 */
export function fitChoices(choices: readonly { name: string; value: string }[]): { name: string; value: string }[] {
  return choices
    .filter((c) => c.value.length >= 1 && c.value.length <= 100)
    .map((c) => ({ name: c.name.length > 100 ? `${c.name.slice(0, 99)}…` : c.name, value: c.value }))
    .slice(0, 25);
}
