import { buildCommand } from '../agent/ssh/quote.ts';
import { AUTOSTART_DIR, argv, autostartPath } from '../agent/toolstack/argv.ts';
import type { Config } from '../config/schema.ts';
import type { JobSpec } from '../core/define-command.ts';
import type { FleetCache } from './fleet-cache.ts';

/**
 * The exact command line a job sends to its host, as an approver must see it: built by the agent's own argv
 * builders and quoting (so the preview cannot drift from what runs), with `sudo -n --` where the host uses it.
 */
export function previewJob(config: Config, fleet: FleetCache, job: JobSpec): string {
  const host = config.hosts[job.host];
  if (!host) return `${job.host}: (unknown host)`;
  const kind = host.toolstack === 'auto' ? (fleet.toolstackOf(job.host) ?? 'xl') : host.toolstack;
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
