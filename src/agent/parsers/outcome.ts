import type { CommandOutcome, MigrationFailureStage, MigrationProgress } from './types.ts';

export type LifecycleOp = 'create' | 'shutdown' | 'destroy' | 'migrate';

export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

interface Rule {
  test: RegExp;
  make: (m: RegExpExecArray, line: string, out: CommandOutput) => CommandOutcome;
}

const line1 = (line: string) => line.trim();

/**
 * Known failures, matched on their text (libxl's file:line prefixes change between releases).
 * Order matters: the more specific message wins when several lines are printed.
 */
const RULES: Rule[] = [
  { test: /^(.+?) is an invalid domain identifier/, make: (m, l) => ({ kind: 'invalidDomain', domain: m[1] ?? '', message: line1(l) }) },
  { test: /Error: Domain '(.+?)' does not exist\./, make: (m, l) => ({ kind: 'notFound', domain: m[1] ?? '', message: line1(l) }) },
  { test: /Can't get domid of domain name '(.+?)'/, make: (m, l) => ({ kind: 'notFound', domain: m[1] ?? '', message: line1(l) }) },
  { test: /Non-exista?e?nt domain/, make: (_m, l) => ({ kind: 'notFound', domain: '', message: line1(l) }) },
  {
    test: /[Dd]omain with name "(.+?)" already exists/,
    make: (m, l) => ({ kind: 'alreadyExists', domain: m[1] ?? '', message: line1(l) }),
  },
  {
    test: /Error: Domain '(.+?)' already exists with ID/,
    make: (m, l) => ({ kind: 'alreadyExists', domain: m[1] ?? '', message: line1(l) }),
  },
  { test: /Error: Domain is already running/, make: (_m, l) => ({ kind: 'alreadyExists', domain: '', message: line1(l) }) },
  {
    test: /Failed to read config file: (.+?): No such file or directory/,
    make: (m, l) => ({ kind: 'configMissing', path: m[1] ?? '', message: line1(l) }),
  },
  {
    test: /Error: Unable to open config file: (.+)$/,
    make: (m, l) => ({ kind: 'configMissing', path: (m[1] ?? '').trim(), message: line1(l) }),
  },
  { test: /^(.+?):\d+: config parsing error/, make: (m, l) => ({ kind: 'configInvalid', path: m[1] ?? '', message: line1(l) }) },
  { test: /Failed to parse config/, make: (_m, l) => ({ kind: 'configInvalid', path: '', message: line1(l) }) },
  { test: /PV control interface not available/, make: (_m, l) => ({ kind: 'noPvControl', message: line1(l) }) },
  {
    test: /Not destroying domain 0|Cannot migrate privileged domain 0|Can't specify Domain-0/,
    make: (_m, l) => ({ kind: 'dom0Refused', message: line1(l) }),
  },
  { test: /\*\* Migration failed during final handshake \*\*/, make: (_m, l) => migrationFailed('finalHandshake', l) },
  { test: /Migration failed, failed to suspend at sender/, make: (_m, l) => migrationFailed('suspend', l) },
  { test: /Migration failed due to problems at target/, make: (_m, l) => migrationFailed('target', l) },
  { test: /Migration failed, resuming at sender/, make: (_m, l) => migrationFailed('resumedAtSender', l) },
  { test: /No config file stored for running domain/, make: (_m, l) => migrationFailed('noConfig', l) },
  {
    test: /Error: can't connect:|ssh: connect to host|ssh: Could not resolve hostname|Permission denied \(publickey/,
    make: (_m, l) => migrationFailed('connect', l),
  },
  {
    test: /cannot init xl context|Can't find hypervisor information in sysfs|Unable to connect to xend|Is xend running\?|Failed to initialize xenstat/,
    make: (_m, l) => ({ kind: 'hostError', message: line1(l) }),
  },
  { test: /Migration failed/, make: (_m, l) => migrationFailed('other', l) },
];

function migrationFailed(stage: MigrationFailureStage, line: string): CommandOutcome {
  return { kind: 'migrationFailed', stage, message: line.trim() };
}

/**
 * What a create / shutdown / destroy / migrate run says happened. Success needs exit 0 and no known failure
 * line (xl prints its status lines on stderr, so stderr alone never means failure).
 */
export function classifyOutcome(op: LifecycleOp, out: CommandOutput): CommandOutcome {
  const lines = `${out.stderr}\n${out.stdout}`.split('\n').map((l) => l.replace(/\r$/, ''));
  for (const rule of RULES) {
    for (const line of lines) {
      const m = rule.test.exec(line);
      if (m) return rule.make(m, line, out);
    }
  }
  const meaningful = lines.map((l) => l.trim()).filter((l) => l !== '');
  if (out.code === 0) {
    if (
      op === 'migrate' &&
      !meaningful.includes('Migration successful.') &&
      meaningful.length > 0 &&
      !meaningful.every((l) => !/fail/i.test(l))
    ) {
      return { kind: 'unknownFailure', exitCode: 0, message: meaningful.at(-1) ?? '' };
    }
    return { kind: 'ok', lines: meaningful };
  }
  const message = meaningful.find((l) => /error|fail|cannot|can't|unable/i.test(l)) ?? meaningful.at(-1) ?? `exit code ${out.code}`;
  return { kind: 'unknownFailure', exitCode: out.code, message };
}

const PERCENT = /^xc: progress: (.*?)\s+(\d{1,3})%\s*$/;

/** A progress event from one line of `xl migrate` stderr, or null for lines that carry none. */
export function parseMigrationLine(raw: string): MigrationProgress | null {
  const line = raw.replace(/\r$/, '').trim();
  const m = PERCENT.exec(line);
  if (m) return { percent: Math.min(100, Number(m[2])), message: (m[1] ?? '').replace(/\s+\d+\/\d+$/, '').trim() };
  if (/^migration (target|sender): /.test(line) || line === 'Migration successful.') return { percent: null, message: line };
  return null;
}
