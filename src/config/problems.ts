import { BUILTIN_GROUPS } from '../core/authorize.ts';
import { KNOWN_PERMISSIONS } from '../queue/ops.ts';
import { type KnownNames, type LintFinding, lintConfig } from './lint.ts';
import { type ConfigCheck, checkConfigFile } from './load.ts';

/**
 * What `xenops check-config` says of a file, and what stops the bot and the agent from starting on it: the schema's
 * problems (errors), then the lint's findings, none on a path the schema already refused (its message names the value).
 * `commands`: the chat commands' names, which channels' filters and `commands.NAME` may use — given by check-config and
 * the bot, which load the commands anyway; the agent, which uses neither, leaves them unchecked rather than keep every
 * command in its heap (1.4 MiB after a full GC) for a check at start. Every permission a command checks is among the
 * op registry's (src/config/problems.test.ts).
 */
export function configProblems(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  commands?: readonly string[],
): { checked: ConfigCheck; problems: LintFinding[] } {
  const checked = checkConfigFile(path, env);
  const refused = new Set(checked.issues.map((i) => i.path));
  const known: KnownNames = { permissions: KNOWN_PERMISSIONS, groups: BUILTIN_GROUPS, ...(commands ? { commands } : {}) };
  const problems = [
    ...checked.issues.map((i) => ({ ...i, severity: 'error' as const })),
    ...lintConfig(checked.config ?? checked.raw, known).filter((f) => !refused.has(f.path)),
  ];
  return { checked, problems };
}
