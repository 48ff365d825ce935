import { createRequire } from 'node:module';

/** The part of @discordjs/ws's WebSocketShard this mends. */
interface ShardPrototype {
  destroy(options?: { recover?: unknown }): Promise<void>;
  connect(): Promise<void>;
}

const STOPPED = Symbol('xenops.shardStopped');
const MENDED = Symbol('xenops.shardStopMended');

/**
 * Makes discord.js's gateway stoppable while it connects. In @discordjs/ws 1.2 (discord.js 14's) a shard destroyed
 * while it waits for Discord's HELLO or READY is destroyed twice: destroy() aborts the wait, and the wait's handler
 * destroys the shard again "to reconnect". That second destroy takes over the first one's close handler, so
 * client.destroy() never resolves, and 500 ms later it connects again: the stopped client goes on reconnecting for
 * good (reproduced against the fake Discord withholding READY). Mended here: a shard destroyed to stop (no `recover`)
 * ignores a destroy to reconnect until it is connected again.
 *
 * The shard class patched is the one discord.js loads: @discordjs/ws is a dual package, and an ESM import of it here
 * would be another module with another class. Idempotent.
 */
export function mendShardStop(): void {
  const fromDiscordJs = createRequire(createRequire(import.meta.url).resolve('discord.js'));
  const { WebSocketShard } = fromDiscordJs('@discordjs/ws') as { WebSocketShard?: { prototype: unknown } };
  const proto = WebSocketShard?.prototype as (ShardPrototype & Record<symbol, unknown>) | undefined;
  if (!proto || typeof proto.destroy !== 'function' || typeof proto.connect !== 'function')
    throw new Error('@discordjs/ws changed: WebSocketShard.destroy/connect not found (see src/adapters/discord/shard-stop.ts)');
  if (proto[MENDED]) return;
  proto[MENDED] = true;
  const { destroy, connect } = proto;
  proto.destroy = function (this: ShardPrototype & Record<symbol, unknown>, options = {}) {
    if (options.recover === undefined) this[STOPPED] = true;
    else if (this[STOPPED]) return Promise.resolve();
    return destroy.call(this, options);
  };
  proto.connect = function (this: ShardPrototype & Record<symbol, unknown>) {
    this[STOPPED] = false;
    return connect.call(this);
  };
}
