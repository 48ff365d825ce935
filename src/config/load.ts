import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../core/errors.ts';
import { Config, crossCheckConfig } from './schema.ts';

export const DEFAULT_CONFIG_PATH = 'config/xenops.yaml';

type Env = Readonly<Record<string, string | undefined>>;

/** The config path: explicit argument, else XENOPS_CONFIG, else config/xenops.yaml. */
export function resolveConfigPath(explicit: string | undefined, env: Env = process.env): string {
  return explicit ?? env['XENOPS_CONFIG'] ?? DEFAULT_CONFIG_PATH;
}

/** Reads, substitutes and validates a config file. Throws ConfigError listing every problem with its path. */
export function loadConfig(path: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [{ path: '', message: `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }]);
  }
  return parseConfigText(text, path, env);
}

export function parseConfigText(text: string, source: string, env: Env = process.env): Config {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({ path: `line ${lineOf(text, e.pos[0])}`, message: e.message.split('\n')[0] ?? e.message })),
    );
  }
  const issues: ConfigIssue[] = [];
  const substituted = substituteEnv(doc.toJS() ?? {}, env, [], issues);
  const parsed = Config.safeParse(substituted);
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error));
    // The schema skips its cross-reference checks when a section fails; run them anyway so every problem is listed.
    const known = new Set(issues.map((i) => i.path));
    for (const extra of crossCheckConfig(substituted)) {
      const path = formatPath(extra.path);
      if (!known.has(path)) issues.push({ path, message: extra.message });
    }
  }
  if (issues.length > 0 || !parsed.success) throw new ConfigError(source, issues);
  return deepFreeze(parsed.data);
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` inside string values (after YAML parsing, so a secret can never change
 * the document's structure). A value that ends up empty is treated as unset, as t3-env does, so optional keys
 * such as `token: ${DISCORD_TOKEN:-}` simply disappear when the variable is not given.
 */
export function substituteEnv(value: unknown, env: Env, path: (string | number)[], issues: ConfigIssue[]): unknown {
  if (typeof value === 'string') {
    const out = value.replace(VAR, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      issues.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
      return '';
    });
    return out === '' ? undefined : out;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i], issues)).filter((v) => v !== undefined);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const s = substituteEnv(v, env, [...path, k], issues);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
  return value;
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue) => {
    // A union failure hides its real reasons one level down; surface them so the path points at the culprit.
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const best = issue.errors.reduce((a, b) => (a.length <= b.length ? a : b));
      return best.map((sub) => ({ path: formatPath([...issue.path, ...sub.path] as (string | number)[]), message: sub.message }));
    }
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ path: formatPath([...issue.path, k] as (string | number)[]), message: 'unknown key' }));
    }
    return [{ path: formatPath(issue.path as (string | number)[]), message: issue.message }];
  });
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
