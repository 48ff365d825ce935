import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Keys whose values are secrets at any depth (`config.discord.token`, `DISCORD_TOKEN`, `webhook.secretToken`,
 * `apiKey`…): censored before a line is written, wherever they are in the logged object.
 */
const SECRET_KEY = /(token|password|passwd|passphrase|secret|privatekey|apikey|authorization|cookie)$/i;
const CENSOR = '[redacted]';

/**
 * Bot and agent share this logger. Secrets are kept out of every line two ways: secret-named keys at any depth, and
 * every string — the message, values, bindings, errors' messages and stacks — passed through `redactSecrets`
 * (registered secrets, Telegram bot tokens, passwords in URLs such as `redis://:password@host`). Both run in the
 * formatters below, on a copy. pino's own `redact` option is not used: its paths are all secret-named keys (covered at
 * any depth here), and it cloned and stringified every logged object and child binding again — a fifth of the
 * agent's allocations at a thousand jobs a second.
 */
export function createLogger(level: string = process.env['XENOPS_LOG_LEVEL'] ?? 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { app: 'xenops' },
    formatters: {
      log: (object) => scrub(object, 0, new WeakSet()) as Record<string, unknown>,
      bindings: (bindings) => scrub(bindings, 0, new WeakSet()) as pino.Bindings,
    },
    hooks: {
      logMethod(args, method) {
        const clean = args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)) as unknown[];
        // `log.error(err)` alone: pino would take err.message as the message unscrubbed, so it is given here.
        const [first] = clean;
        if (clean.length === 1 && first !== null && typeof first === 'object') {
          const err = first instanceof Error ? first : (first as { err?: unknown }).err;
          if (err instanceof Error && !('msg' in first)) clean.push(redactSecrets(err.message));
        }
        method.apply(this, clean as Parameters<pino.LogFn>);
      },
      // The line as written, once more for registered secrets only (a substring test each): a class instance is not
      // walked by the formatters (an ioredis client, or an error holding one, would be written with its options'
      // password), and no other shape of a logged value can carry one past this.
      streamWrite: redactRegistered,
    },
  };
  const logger = destination ? pino(options, destination) : pino(options, pino.destination(2));
  // pino does not run a child's bindings through formatters.bindings: they are scrubbed here. Children inherit this
  // method (pino makes each child with Object.create(parent)), so grandchildren are covered too.
  type ChildFn = (this: unknown, bindings: pino.Bindings, childOptions?: unknown) => unknown;
  const child = logger.child as unknown as ChildFn;
  const scrubbedChild: ChildFn = function (this: unknown, bindings, childOptions) {
    return child.call(this, scrub(bindings, 0, new WeakSet()) as pino.Bindings, childOptions);
  };
  logger.child = scrubbedChild as unknown as typeof logger.child;
  return logger;
}

/** A copy of a logged value with secret-named keys censored and every string scrubbed (bounded depth, no cycles). */
function scrub(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (value === null || typeof value !== 'object' || depth > 8 || seen.has(value)) return value;
  seen.add(value);
  if (value instanceof Error) {
    // Same prototype, so the error serializer still names its class (TransportError…); message, stack, cause scrubbed.
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(value))
      copy[key] = scrubEntry(key, (value as unknown as Record<string, unknown>)[key], depth, seen);
    return copy;
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, seen));
  const proto = Object.getPrototypeOf(value) as unknown;
  // Buffers, Dates, class instances are left as they are: only plain data is walked.
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = scrubEntry(key, v, depth, seen);
  return out;
}

function scrubEntry(key: string, value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (SECRET_KEY.test(key) && value !== undefined && value !== null && value !== '') return CENSOR;
  return scrub(value, depth + 1, seen);
}

/** Longest first: a secret that holds another is taken out whole, not cut around the shorter one. */
let knownSecrets: string[] = [];
/** The same, each also as it reads inside a JSON string (a quote, a backslash, an inline key's newlines escaped). */
let secretsInLines: string[] = [];

/**
 * Registers a secret (bot token, key passphrase…) so `redactSecrets` removes it from any text. One shorter than 6
 * characters is not: taken out of every text, it would cut up names, ids and numbers.
 */
export function registerSecret(secret: string | undefined): void {
  if (!secret || secret.length < 6 || knownSecrets.includes(secret)) return;
  knownSecrets = [...knownSecrets, secret].sort((a, b) => b.length - a.length);
  secretsInLines = [...new Set(knownSecrets.flatMap((s) => [JSON.stringify(s).slice(1, -1), s]))].sort((a, b) => b.length - a.length);
}

/** A written log line without the registered secrets (as JSON quotes them, or as they are). */
function redactRegistered(line: string): string {
  let out = line;
  for (const s of secretsInLines) if (out.includes(s)) out = out.split(s).join(CENSOR);
  return out;
}

/** Removes registered secrets and anything shaped like a Telegram bot token or a URL password (userinfo or query) from text. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const s of knownSecrets) out = out.split(s).join('[redacted]');
  // A URL's password runs to the last @ before the host (as WHATWG URL, and so ioredis, reads it): it may hold an @.
  // ioredis also takes a password from the query (`redis://host:6379/0?password=…`).
  // A Telegram bot token is `<bot id>:<35 characters>`: in a request URL (`/bot<TOKEN>/getMe`) or bare, as pasted into a
  // reason or written in the config where no adapter has registered it (a bot on the terminal or Discord alone).
  return out
    .replace(/\bbot\d{5,}:[A-Za-z0-9_-]{20,}/g, 'bot[redacted]')
    .replace(/(?<![A-Za-z0-9_-])\d{6,}:[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/g, '[redacted]')
    .replace(/(\/\/[^/:@\s]*:)[^\s/]*@/g, '$1[redacted]@')
    .replace(/([?&](?:password|pass|pwd)=)[^&#\s'"]*/gi, '$1[redacted]');
}
