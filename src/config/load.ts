import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type Node, parseDocument, visit, type YAMLError } from 'yaml';
import { z } from 'zod';
import { echoValue } from '../core/args.ts';
import { ConfigError, type ConfigIssue } from '../core/errors.ts';
import { redactSecrets } from '../core/log.ts';
import { TOO_MANY_DIGITS } from './number-schema.ts';
import { Config, crossCheckConfig } from './schema.ts';

export const DEFAULT_CONFIG_PATH = 'config/xenops.yaml';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The config path: explicit argument, else XENOPS_CONFIG, else config/xenops.yaml. An empty XENOPS_CONFIG (an env
 * file's `XENOPS_CONFIG=`) counts as unset, as an empty `${VAR}` does in the file: it named the working directory.
 */
export function resolveConfigPath(explicit: string | undefined, env: Env = process.env): string {
  return explicit ?? (env['XENOPS_CONFIG'] || DEFAULT_CONFIG_PATH);
}

/** Where to start from when there is no config file yet, in xenops's own directory. */
export const EXAMPLE_CONFIG_PATH = 'config/xenops.example.yaml';

/**
 * The example as a path that works from `cwd`: written relative to xenops's directory, it named nothing when xenops
 * was run from elsewhere (systemd's /var/lib/xenops). Two levels up from src/config/load.ts, three from the build's
 * dist/src/config/load.js. Relative when under `cwd` (the usual `config/xenops.example.yaml`), else absolute.
 */
export function exampleConfigPath(cwd: string): string {
  const [source, built] = ['../../', '../../../'].map((up) => fileURLToPath(new URL(up + EXAMPLE_CONFIG_PATH, import.meta.url)));
  const file = built !== undefined && !existsSync(source as string) && existsSync(built) ? built : (source as string);
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/**
 * A config file, checked: the config when it is valid, else every problem (each once, with its path). `raw` is
 * the document after `${VAR}` substitution (null when the YAML could not be read), for checks that look beyond
 * the schema (check-config's lint) and want to run even on an invalid file.
 */
export interface ConfigCheck {
  config: Config | null;
  raw: unknown;
  issues: ConfigIssue[];
}

/** Reads, substitutes and validates a config file. Throws ConfigError listing every problem with its path. */
export function loadConfig(path: string, env: Env = process.env): Config {
  const checked = checkConfigFile(path, env);
  if (!checked.config) throw new ConfigError(path, checked.issues);
  return checked.config;
}

export function parseConfigText(text: string, source: string, env: Env = process.env): Config {
  const checked = checkConfigText(text, env);
  if (!checked.config) throw new ConfigError(source, checked.issues);
  return checked.config;
}

/** Like loadConfig, but returns the problems instead of throwing. `cwd` only for tests. */
export function checkConfigFile(path: string, env: Env = process.env, cwd = process.cwd()): ConfigCheck {
  const read = readConfigText(path, cwd);
  return 'problem' in read ? { config: null, raw: null, issues: [read.problem] } : checkConfigText(read.text, env);
}

/** The file's text, or why it could not be read (with what to do when it is not there). */
function readConfigText(path: string, cwd: string): { text: string } | { problem: ConfigIssue } {
  try {
    return { text: readFileSync(resolve(cwd, path), 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? `${path} not found — copy ${exampleConfigPath(cwd)} to ${path} and edit it`
        : `cannot read the file: ${CANNOT_READ[code ?? ''] ?? code ?? String(error)}`;
    return { problem: { path: '', message } };
  }
}

/** Why a config file could not be read, in words (an errno code alone meant little to whoever set xenops up). */
const CANNOT_READ: Readonly<Record<string, string>> = {
  EISDIR: 'it is a directory (give the path of the YAML file in it)',
  EACCES: 'permission denied (the user xenops runs as must be able to read it)',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
};

/**
 * Aliases the document may expand before it is refused. yaml's default (100) is meant for untrusted input and threw
 * on a fleet file sharing one `&roles` list among 101 people; this still refuses an exponential alias bomb.
 */
const MAX_ALIAS_COUNT = 10_000;

export function checkConfigText(text: string, env: Env = process.env): ConfigCheck {
  const doc = readYaml(text);
  if ('unread' in doc) return { config: null, raw: null, issues: doc.unread };
  const envIssues: ConfigIssue[] = [...doc.issues];
  const templates = new Map<string, string>();
  const raw = substituteEnv(withoutExtensions(doc.js ?? {}), env, [], envIssues, templates);
  const parsed = Config.safeParse(raw, { error: (issue) => friendlyMessage(issue, raw) });
  if (parsed.success && envIssues.length === 0) return { config: deepFreeze(parsed.data), raw, issues: [] };
  const issues: ConfigIssue[] = [];
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error, raw));
    // zod skips refinements (cross-references, a host's pin) of anything with a bad field: run them anyway.
    for (const extra of crossCheckConfig(raw)) issues.push({ path: formatPath(extra.path), message: extra.message });
  }
  return { config: null, raw, issues: combined(envIssues, issues, templates) };
}

/** Top-level sections of the config a command may read on their own (see checkConfigSections). */
export type ConfigSection = keyof Config;

/**
 * Only `sections` of a config file, checked as checkConfigText checks them, for a command that reads nothing else
 * (`xenops audit verify`: redis and audit). A `${VAR}` outside them is not filled in, and nothing there is validated: the
 * demo's trail could not be verified without the simulator's ports and host keys in the environment. What can still
 * mislead it is said: a YAML error anywhere (the document cannot be read) and an unknown top-level key (a misspelt
 * `audit:` leaves its defaults, another file and stream, in force).
 */
export function checkConfigSections<K extends ConfigSection>(
  path: string,
  sections: readonly K[],
  env: Env = process.env,
  cwd = process.cwd(),
): { config: Pick<Config, K> | null; issues: ConfigIssue[] } {
  const read = readConfigText(path, cwd);
  if ('problem' in read) return { config: null, issues: [read.problem] };
  const doc = readYaml(read.text);
  if ('unread' in doc) return { config: null, issues: doc.unread };
  const wanted = new Set<string>(sections);
  const inWanted = (p: string) => wanted.has(p.split(/[.[]/, 1)[0] as string);
  const top = withoutExtensions(doc.js ?? {});
  const isMapping = top !== null && typeof top === 'object' && !Array.isArray(top);
  const envIssues: ConfigIssue[] = [
    ...(isMapping ? Object.keys(top).filter((k) => !Object.hasOwn(Config.shape, k)) : []).map((k) => ({ path: k, message: 'unknown key' })),
    ...doc.issues.filter((i) => inWanted(i.path)),
  ];
  // Not a mapping: left whole, for the schema to say so.
  const picked = isMapping ? Object.fromEntries(Object.entries(top).filter(([k]) => wanted.has(k))) : top;
  const templates = new Map<string, string>();
  const raw = substituteEnv(picked, env, [], envIssues, templates);
  const schema = z.strictObject(Object.fromEntries(sections.map((s) => [s, Config.shape[s]])));
  const parsed = schema.safeParse(raw, { error: (issue) => friendlyMessage(issue, raw) });
  if (parsed.success && envIssues.length === 0) return { config: deepFreeze(parsed.data as unknown as Pick<Config, K>), issues: [] };
  const issues = parsed.success ? [] : zodIssues(parsed.error, raw);
  return { config: null, issues: combined(envIssues, issues, templates) };
}

/** The substitution's problems, then the schema's not on a path an unset variable emptied, never echoing a variable's value. */
function combined(
  envIssues: readonly ConfigIssue[],
  issues: readonly ConfigIssue[],
  templates: ReadonlyMap<string, string>,
): ConfigIssue[] {
  // A value an unset variable emptied is reported by that cause, not again as missing ("required", "pin the host key").
  const emptied = new Set(envIssues.map((i) => i.path));
  const all = [...envIssues, ...issues.filter((i) => !emptied.has(i.path))];
  return unique(all.map((i) => ({ ...i, message: unechoEnv(i.message, templates) })));
}

/**
 * The YAML document as plain data, before any `${VAR}` is filled in, with the problems found on the way (a merge
 * source that is no mapping, taken out); or, in `unread`, why it could not be read at all.
 */
function readYaml(text: string): { js: unknown; issues: ConfigIssue[] } | { unread: ConfigIssue[] } {
  // Merge keys are YAML 1.1's, off by default in 1.2: `<<: *defaults` was an unknown key, and hosts sharing their login
  // settings through an anchor were refused as having no key.
  const doc = parseDocument(text, { prettyErrors: false, merge: true });
  // yaml only warns of a tag it does not know, and reads on without it: `passphrase: !x…` became no passphrase.
  const unknownTags = doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (doc.errors.length > 0 || unknownTags.length > 0) {
    const issues = [...doc.errors, ...unknownTags].map((e) => ({ path: `line ${lineOf(text, e.pos[0])}`, message: yamlProblem(e) }));
    return { unread: unique(issues) };
  }
  // yaml throws at the first source that is not a mapping, naming no place: each is said with its path and left out,
  // so the rest of the file is still checked.
  const mergeIssues = takeOutBadMergeSources(doc);
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml throws (not reports) on aliases past the limit or with no anchor: a problem of the file, never a stack trace.
    const unresolved = unresolvedAliasLines(doc, text);
    if (unresolved.length > 0) return { unread: unresolved.map((line) => ({ path: `line ${line}`, message: NO_ANCHOR })) };
    return { unread: [{ path: '', message: `cannot read the YAML: ${firstLine(error)}` }] };
  }
  return { js, issues: mergeIssues };
}

/**
 * The top level's `x-…` keys, as docker compose has them: a place for the anchors hosts merge (`x-dom0: &dom0`), not a
 * setting. Anywhere else such a key is still unknown.
 */
function withoutExtensions(js: unknown): unknown {
  if (js === null || typeof js !== 'object' || Array.isArray(js)) return js;
  return Object.fromEntries(Object.entries(js).filter(([k]) => !k.startsWith('x-')));
}

const MERGE_SOURCES = 'a merge (<<) takes a mapping, an alias of one (*name) or a list of them';

/**
 * Each merge source that is not a mapping (`<<: 5`, an alias of a list), with its path where it is written; taken out
 * of the document. Never quoted: an anchored value may be a secret. An alias with no anchor is left to toJS's error.
 */
function takeOutBadMergeSources(doc: Document): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  visit(doc, {
    Pair: (_key, pair, ancestors) => {
      if (!(isScalar(pair.key) && typeof pair.key.value === 'symbol')) return undefined;
      const at = [...yamlPath([...ancestors, pair]), '<<'];
      const problem = (node: unknown) => {
        if (!isAlias(node)) return isMap(node) ? null : nodeKind(node);
        const source = node.resolve(doc);
        return source === undefined || isMap(source) ? null : `an alias of ${nodeKind(source)}`;
      };
      if (!isSeq(pair.value)) {
        const kind = problem(pair.value);
        if (kind === null) return undefined;
        issues.push({ path: formatPath(at), message: `${MERGE_SOURCES}; got ${kind}` });
        return visit.REMOVE;
      }
      pair.value.items = pair.value.items.filter((item, i) => {
        const kind = problem(item);
        if (kind !== null) issues.push({ path: formatPath([...at, i]), message: `${MERGE_SOURCES}; got ${kind}` });
        return kind === null;
      });
      return undefined;
    },
  });
  return issues;
}

/** The config path of a node as its ancestors (from visit) name it: keys, and positions in lists. */
function yamlPath(chain: readonly unknown[]): (string | number)[] {
  const out: (string | number)[] = [];
  for (let i = 0; i < chain.length - 1; i++) {
    const node = chain[i];
    if (isPair(node) && chain[i + 1] === node.value) {
      const key = isScalar(node.key) ? node.key.value : node.key;
      out.push(typeof key === 'symbol' ? (key.description ?? '') : String(key));
    } else if (isSeq(node)) out.push(node.items.indexOf(chain[i + 1] as Node));
  }
  return out;
}

function nodeKind(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  const value = isScalar(node) ? node.value : node;
  if (value === null || value === undefined) return 'an empty value';
  if (typeof value === 'string') return 'text';
  return typeof value === 'boolean' ? 'true or false' : `a ${typeof value}`;
}

const quoteIt = (start: string) => `if the ${start} begins the value, put the value in quotes`;
const NO_ANCHOR = `an alias (*…) with no anchor (&…) before it: ${quoteIt('*')}`;

/**
 * A YAML problem in words that never quote the file: a value YAML could not read may be a secret written in it
 * (`passphrase: |x…` was printed whole as a block scalar header's "extra characters"; an alias or tag, by its name).
 */
function yamlProblem(e: YAMLError): string {
  if (e.code === 'TAG_RESOLVE_FAILED') return `a YAML tag (!…) xenops does not know: ${quoteIt('!')} (and keep secrets in \${VAR})`;
  if (e.code === 'BAD_DQ_ESCAPE') return 'invalid escape sequence (\\…) in a double-quoted value: use single quotes, or write \\\\';
  const message = e.message.split('\n')[0] ?? e.message;
  if (message.startsWith('Block scalar header includes extra characters'))
    return `text after a block scalar's | or > on its line: ${quoteIt('| or >')}`;
  return message;
}

/** The lines of aliases naming no anchor before them (as yaml resolves them: the last one earlier in the file). */
function unresolvedAliasLines(doc: Document, text: string): number[] {
  const anchors = new Set<string>();
  const lines: number[] = [];
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) {
        if (!anchors.has(node.source)) lines.push(lineOf(text, node.range?.[0] ?? 0));
      } else if (node.anchor) anchors.add(node.anchor);
    },
  });
  return lines;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/**
 * The environment is where secrets live: a message never quotes what a variable put into a value (`redis:
 * ${REDIS_URL}` written for `redis.url` would print the URL's password), only the value as the file writes it.
 */
function unechoEnv(message: string, templates: ReadonlyMap<string, string>): string {
  let out = message;
  for (const [value, template] of templates) {
    // As describeValue quotes it: with its secrets taken out (a URL's password) when it has any.
    for (const quoted of new Set([echoValue(value), echoValue(redactSecrets(value))])) out = out.split(quoted).join(echoValue(template));
    // Schema messages may name a value unquoted; a short one (a port) is too likely a part of other words.
    if (value.length >= 8) out = out.split(value).join(template);
  }
  return out;
}

/** Each problem once (the same path and message can come from the schema and from the cross-checks). */
function unique(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/**
 * A whole value such as `$DISCORD_TOKEN`, and any `${` left once VAR is filled in (the shell's and compose's
 * `${NAME-default}`, `${NAME:?message}`, a `${NAME:default}`, a nested default): kept as they were, they were taken as
 * the token itself.
 */
const BARE_VAR = /^\$[A-Z_][A-Z0-9_]*$/;

/**
 * Replaces `${VAR}` and `${VAR:-default}` inside string values (after YAML parsing, so a secret can never change
 * the document's structure). A value that ends up empty is treated as unset, as t3-env does, so optional keys
 * such as `token: ${DISCORD_TOKEN:-}` simply disappear when the variable is not given.
 */
export function substituteEnv(
  value: unknown,
  env: Env,
  path: (string | number)[],
  issues: ConfigIssue[],
  /** Filled with each value a variable changed → the value as written (so messages can quote the latter). */
  templates?: Map<string, string>,
): unknown {
  if (typeof value === 'string') {
    // Looked for in the file's text, not in what a variable put there: a secret may well hold `${`.
    const unread = value.replace(VAR, (_m, _name, fallback: string | undefined) => fallback ?? '');
    if (unread.includes('${') || BARE_VAR.test(value))
      issues.push({ path: formatPath(path), message: `a reference xenops does not fill in: write \${NAME} or \${NAME:-default}` });
    const out = value.replace(VAR, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      issues.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
      return '';
    });
    if (out !== value && out !== '') templates?.set(out, value);
    return out === '' ? undefined : detached(out);
  }
  if (Array.isArray(value))
    return value.map((v, i) => substituteEnv(v, env, [...path, i], issues, templates)).filter((v) => v !== undefined);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // Assigned, it set the copy's prototype: the entry vanished (a person, a role) or, under a host, lent it every
      // field it held (address, dangerouslyAcceptAnyHostKey) without one being written there.
      if (k === '__proto__') {
        issues.push({ path: formatPath([...path, k]), message: 'not a valid name: __proto__ is reserved' });
        continue;
      }
      const s = substituteEnv(v, env, [...path, k], issues, templates);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
  return value;
}

/**
 * A copy of a string that holds no reference to the text it was cut from. The YAML parser's strings are slices of
 * the whole file in V8: one kept value (the audit file's path, a host name) would keep the whole config text alive
 * for the life of the process (2 MB for a 1,000-host fleet file with its simulator section).
 */
function detached(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

function zodIssues(error: z.ZodError, raw: unknown): ConfigIssue[] {
  const issues = withoutSizeOfWrongType(error.issues).flatMap((issue) => describeIssue(issue, [], raw));
  // `maxConcurrent: 1e20` broke both the setting's bound and zod's for whole numbers: its own bound is enough.
  const bounded = new Set(issues.filter((i) => !i.message.startsWith(TOO_LARGE)).map((i) => i.path));
  return issues.filter((i) => !(i.message.startsWith(TOO_LARGE) && bounded.has(i.path)));
}

const TOO_LARGE = 'too large for a whole number';

/** One zod issue (found at `base`, inside a union's branch) as the config author reads it. */
function describeIssue(issue: z.core.$ZodIssue, base: PropertyKey[], raw: unknown): ConfigIssue[] {
  const path = [...base, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Every branch refused the value's type (`allow: [5]`): say what would do.
    const branches = issue.errors
      .map(withoutSizeOfWrongType)
      .map((b) => (b.length === 1 && b[0]?.code === 'invalid_type' && b[0].path.length === 0 ? b[0] : null));
    if (branches.every((b) => b !== null)) {
      const wanted = [...new Set(branches.map((b) => describeExpected(b?.expected ?? '')))].join(' or ');
      return [{ path: formatPath(path), message: `expected ${wanted}, got ${describeValue(valueAt(raw, path))}` }];
    }
    // Else the reasons are one level down, in the branch the value was meant for; the path points at the culprit.
    return withoutSizeOfWrongType(closestBranch(issue.errors)).flatMap((sub) => describeIssue(sub, path, raw));
  }
  if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => ({ path: formatPath([...path, k]), message: 'unknown key' }));
  if (issue.code === 'invalid_key')
    return [{ path: formatPath(path), message: `not a valid name: ${issue.issues[0]?.message ?? 'invalid'}` }];
  return [{ path: formatPath(path), message: issue.message }];
}

/**
 * zod checks a length even on a value of the wrong type: `address: []` was "expected text, got a list" and then "must
 * list at least 1 item", which asks for the list the first refused. The type is the one problem there.
 */
function withoutSizeOfWrongType(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const key = (path: readonly PropertyKey[]) => path.map(String).join('\u0000');
  const mistyped = new Set(issues.filter((i) => i.code === 'invalid_type').map((i) => key(i.path)));
  return issues.filter((i) => !((i.code === 'too_small' || i.code === 'too_big') && mistyped.has(key(i.path))));
}

/**
 * The union branch the author meant: one that takes the value's kind (a mapping, not the text form of a permission
 * rule), then the one that knows the most of its keys (a weekly window's `weekday` is unknown to a one-off window),
 * then the one with the fewest problems. The fewest problems alone picked `"expected oncall, got a mapping"` for
 * `approvers: { permisson: x }`, and a one-off window's complaints for a weekly one with a misspelt weekday.
 */
function closestBranch(branches: z.core.$ZodIssue[][]): z.core.$ZodIssue[] {
  // In that order of weight (a union's branches number a few, their problems far fewer than a thousand).
  const score = (b: z.core.$ZodIssue[]) =>
    (b.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')) ? 1e6 : 0) +
    b.reduce((n, i) => n + (i.code === 'unrecognized_keys' && i.path.length === 0 ? i.keys.length : 0), 0) * 1e3 +
    b.length;
  const scored = branches.map((b) => ({ b, s: score(b) })).sort((x, y) => x.s - y.s);
  return scored[0]?.b ?? [];
}

/**
 * zod's default messages in words a config author reads: "expected a number, got "twenty-two"". Messages a
 * schema wrote itself (host names, fingerprints…) are kept: zod only asks this for issues without one.
 */
function friendlyMessage(issue: z.core.$ZodRawIssue, raw: unknown): string | undefined {
  // A secret written wrongly (a passphrase of digits without quotes) is named by its kind, never echoed.
  const secret = SECRET_KEY.test(String(issue.path?.at(-1) ?? ''));
  const got = () => (secret ? describeKind(inputOf(issue, raw)) : describeValue(inputOf(issue, raw)));
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'required';
      // An id YAML rounded (a Discord snowflake): the number echoed would not be the one written.
      if (
        issue.expected === 'string' &&
        typeof issue.input === 'number' &&
        !Number.isSafeInteger(issue.input) &&
        Number.isInteger(issue.input)
      )
        return TOO_MANY_DIGITS;
      const hint =
        issue.expected === 'string' && (typeof issue.input === 'number' || typeof issue.input === 'boolean') ? ' (put it in quotes)' : '';
      return `expected ${describeExpected(issue.expected)}, got ${got()}${hint}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${String(issue.values[0])}, got ${got()}`
        : `expected one of ${issue.values.map(String).join(', ')}, got ${got()}`;
    case 'too_small':
    case 'too_big': {
      const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      const small = issue.code === 'too_small';
      // zod's bound for any int. An id this long is said to be quoted by its schema (PlatformId); for a setting,
      // quoting would not help: it is too large, and a bound of its own, when it has one, says so already.
      if (Math.abs(bound) === Number.MAX_SAFE_INTEGER && issue.origin !== 'string' && issue.origin !== 'array')
        return `${TOO_LARGE} (at most ${Number.MAX_SAFE_INTEGER})`;
      if (issue.origin === 'string') {
        if (small && bound <= 1) return 'must not be empty';
        return `must be ${small ? 'at least' : 'at most'} ${bound} characters long`;
      }
      if (issue.origin === 'array' || issue.origin === 'set')
        return `must list ${small ? 'at least' : 'at most'} ${bound} item${bound === 1 ? '' : 's'}`;
      const word = small ? (issue.inclusive ? 'at least' : 'more than') : issue.inclusive ? 'at most' : 'less than';
      return `must be ${word} ${bound}, got ${got()}`;
    }
    case 'invalid_format':
      if (issue.format === 'url') return `expected a URL, got ${got()}`;
      if (issue.format === 'regex' && 'pattern' in issue) return `expected text matching ${String(issue.pattern)}, got ${got()}`;
      return `expected a valid ${issue.format}, got ${got()}`;
    default:
      return undefined;
  }
}

function describeExpected(expected: string): string {
  const words: Record<string, string> = {
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    string: 'text',
    array: 'a list',
    object: 'a mapping (key: value)',
    record: 'a mapping (key: value)',
  };
  return words[expected] ?? expected;
}

/** Config keys whose values are secrets (their problems never quote them). */
const SECRET_KEY = /pass(word|phrase)?|token|secret|private_?key/i;

function describeKind(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  return Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  // Taken out before echoValue cuts the value short: a cut would leave a token's or a URL password's start unmatched.
  return echoValue(typeof value === 'string' ? redactSecrets(value) : value);
}

/**
 * The value as written. Numeric fields take text (`${PORT}` arrives as text), so zod sees NaN for "twenty-two":
 * look the original up in the document instead.
 */
function inputOf(issue: z.core.$ZodRawIssue, raw: unknown): unknown {
  if (typeof issue.input !== 'number' || !issue.path?.length) return issue.input;
  const v = valueAt(raw, issue.path);
  // Only what coercion turns into a number (text, an empty value, true/false); never a whole section.
  return typeof v === 'string' || typeof v === 'boolean' || v === null ? v : issue.input;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function formatPath(path: readonly (string | number | symbol)[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
