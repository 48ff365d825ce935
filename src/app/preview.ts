import { buildCommand } from '../agent/ssh/quote.ts';
import { AUTOSTART_DIR, argv, autostartPath } from '../agent/toolstack/argv.ts';
import type { Config } from '../config/schema.ts';
import type { JobSpec } from '../core/define-command.ts';
import { UserError } from '../core/errors.ts';
import type { ToolstackKind } from '../core/xen.ts';
import type { FleetCache } from './fleet-cache.ts';

type HostConfig = Config['hosts'][string];

/**
 * The exact command line a job sends to its host, as an approver must see it: built by the agent's own argv
 * builders and quoting (so the preview cannot drift from what runs), with `sudo -n --` where the host uses it.
 *
 * A `toolstack: auto` host the bot has not heard from yet (its refresh failed, the bot just started) may run either
 * toolstack: the agent decides when the job runs. Any one form shown as "the" command could then be untrue, so both are
 * shown, each marked with the toolstack it is for, unless they are the same line.
 */
export function previewJob(config: Config, fleet: FleetCache, job: JobSpec): string {
  const host = config.hosts[job.host];
  if (!host) return `${job.host}: (unknown host)`;
  const kind = host.toolstack === 'auto' ? fleet.toolstackOf(job.host) : host.toolstack;
  if (kind) return commandFor(config, fleet, job, host, kind);
  const forms = (['xl', 'xm'] as const).map((k) => attempt(() => commandFor(config, fleet, job, host, k)));
  const [xl, xm] = forms as [Attempt, Attempt];
  // Refused on both (a name no toolstack may be given): the request is refused, as on a host whose toolstack is known.
  if (!xl.ok && !xm.ok) throw xl.error;
  if (xl.ok && xm.ok && xl.line === xm.line) return xl.line;
  const shown = (a: Attempt) => (a.ok ? a.line : `nothing would be sent (${a.error.message})`);
  return `${job.host}: toolstack not known yet (auto: the agent detects xl or xm when the job runs) — on xl: ${shown(xl)} | on xm: ${shown(xm)}`;
}

type Attempt = { ok: true; line: string } | { ok: false; error: UserError };

/**
 * Only the argv builders' refusals are caught: on one toolstack they are what the agent would answer there (nothing
 * sent), while the other toolstack may still take the job.
 */
function attempt(build: () => string): Attempt {
  try {
    return { ok: true, line: build() };
  } catch (error) {
    if (error instanceof UserError) return { ok: false, error };
    throw error;
  }
}

function commandFor(config: Config, fleet: FleetCache, job: JobSpec, host: HostConfig, kind: ToolstackKind): string {
  const line = (words: string[]) => `${job.host}$ ${buildCommand(words, { sudo: host.sudo })}`;
  switch (job.op) {
    case 'domain.start': {
      const known = fleet.domains(job.host).find((d) => d.name === job.domain)?.configPath;
      return known ? line(argv.create(kind, known)) : `${line([kind, 'create'])} <the config file of ${job.domain} on ${job.host}>`;
    }
    case 'domain.stop':
      return line(job.force ? argv.destroy(kind, job.domain) : argv.shutdown(kind, job.domain, host.shutdownTimeoutSeconds));
    case 'domain.migrate': {
      const target = config.hosts[job.target];
      return line(argv.migrate(kind, job.domain, target?.migrateAddress ?? target?.address ?? job.target));
    }
    case 'domain.reboot': {
      if (!job.force) return line(argv.reboot(kind, job.domain));
      const known = fleet.domains(job.host).find((d) => d.name === job.domain)?.configPath;
      const create = known ? line(argv.create(kind, known)) : `${line([kind, 'create'])} <the config file of ${job.domain} on ${job.host}>`;
      return `${line(argv.destroy(kind, job.domain))}, then ${create}`;
    }
    case 'domain.pause':
      return line(argv.pause(kind, job.domain));
    case 'domain.unpause':
      return line(argv.unpause(kind, job.domain));
    case 'domain.autostart': {
      if (!job.enable) return line(argv.autostartOff(job.domain));
      const known = fleet.domains(job.host).find((d) => d.name === job.domain)?.configPath;
      return known && !known.startsWith(`${AUTOSTART_DIR}/`)
        ? line(argv.autostartOn(known, job.domain))
        : `${line(['ln', '-s'])} <the config file of ${job.domain} on ${job.host}> ${autostartPath(job.domain)}`;
    }
    default:
      return `${job.host}: ${job.op}`;
  }
}
