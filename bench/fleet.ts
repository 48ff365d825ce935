import { stringify } from 'yaml';

/**
 * Config files for the bench: a simulated fleet of N hosts × D domains (the `simulator:` section the sim reads, and
 * the `hosts:` section agent and bot read, whose ports and host keys are the `${XENOPS_SIM_<HOST>_…}` variables
 * `xenops sim` writes to sim.env), or one real host (OpenSSH's sshd) given by value. Pure: text in, text out.
 */

export const BENCH_USER = 'bench';
/** The Discord user id the bench speaks as (an admin, like every bench request). */
export const BENCH_DISCORD_USER = '200000000000000001';

/** h0001, h0002, … (four digits up to 9,999 hosts): sorted names are numeric order. */
export function hostName(i: number): string {
  return `h${String(i + 1).padStart(4, '0')}`;
}

export function hostNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => hostName(i));
}

/** The sim.env variable stem of a host (what src/sim/cli.ts writes): XENOPS_SIM_H0001. */
export function simVar(host: string): string {
  return `XENOPS_SIM_${host.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** `${NAME}` or `${NAME:-fallback}`: a variable the config loader fills from the environment. */
export function envRef(name: string, fallback?: string): string {
  return `\${${name}${fallback === undefined ? '' : `:-${fallback}`}}`;
}

export interface FleetOptions {
  hosts: number;
  domainsPerHost: number;
  /**
   * Adds a `discord:` section reading DISCORD_TOKEN / DISCORD_API_ROOT (empty when unset: the terminal bot runs on the
   * same file), registering commands in this guild.
   */
  discordGuildId?: string;
  /** `sampling.enabled` (default true, as in a user's config). */
  sampling?: boolean;
}

function common(options: { discordGuildId?: string | undefined; sampling?: boolean | undefined }): Record<string, unknown> {
  return {
    redis: { url: envRef('REDIS_URL', 'redis://127.0.0.1:6379'), prefix: `{${envRef('XENOPS_REDIS_PREFIX', 'xenops-bench')}}` },
    roles: { admin: { description: 'Everything, everywhere.', allow: ['*'] } },
    people: {
      [BENCH_USER]: { displayName: 'Bench (admin)', roles: ['admin'], identities: { terminal: BENCH_USER, discord: BENCH_DISCORD_USER } },
    },
    channels: [
      { platform: 'terminal', id: '*' },
      { platform: 'discord', id: '*' },
    ],
    terminal: { defaultUser: BENCH_USER },
    ...(options.discordGuildId
      ? { discord: { token: envRef('DISCORD_TOKEN', ''), apiRoot: envRef('DISCORD_API_ROOT', ''), guildIds: [options.discordGuildId] } }
      : {}),
    audit: { file: 'var/bench-audit.jsonl' },
    sampling: { enabled: options.sampling ?? true },
    // info is the default level (and the level the process harness needs to see "agent started" / "bot started").
    logLevel: envRef('XENOPS_LOG_LEVEL', 'info'),
  };
}

/** One simulated host's domains: `<host>-vm01…`, all running but the last two (defined in a .cfg, not running). */
export function simDomains(host: string, n: number): { name: string; memoryMiB: number; vcpus: number; running: boolean }[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${host}-vm${String(i + 1).padStart(2, '0')}`,
    memoryMiB: 512 + 256 * (i % 4),
    vcpus: 1 + (i % 2),
    running: i < n - Math.min(2, Math.floor(n / 10)),
  }));
}

/** A config (YAML) with a simulated fleet of `hosts` × `domainsPerHost`. */
export function fleetConfigYaml(options: FleetOptions): string {
  const names = hostNames(options.hosts);
  const hosts: Record<string, unknown> = {};
  const sim: Record<string, unknown> = {};
  for (const h of names) {
    const v = simVar(h);
    hosts[h] = {
      address: '127.0.0.1',
      port: envRef(`${v}_PORT`),
      user: 'root',
      privateKeyPath: envRef('XENOPS_SIM_CLIENT_KEY'),
      hostKey: envRef(`${v}_HOSTKEY`),
      toolstack: 'xl',
    };
    sim[h] = { toolstack: 'xl', totalMemoryMiB: 65_536, domains: simDomains(h, options.domainsPerHost) };
  }
  return stringify(
    { ...common({ discordGuildId: options.discordGuildId, sampling: options.sampling }), hosts, simulator: { hosts: sim } },
    { lineWidth: 0 },
  );
}

export interface RealHostOptions {
  name: string;
  port: number;
  user: string;
  privateKeyPath: string;
  hostKey: string;
}

/**
 * A config whose only host is a real sshd (given by value). The process harness needs a simulator running to
 * start agent and bot, so a one-host simulated fleet is declared too; no agent or bot is pointed at it. Sampling is
 * off: the fake `xl` has no `xentop`, and a failing sampler would put extra sessions on the sshd being measured.
 */
export function realHostConfigYaml(host: RealHostOptions): string {
  return stringify(
    {
      ...common({ sampling: false }),
      hosts: {
        [host.name]: {
          address: '127.0.0.1',
          port: host.port,
          user: host.user,
          privateKeyPath: host.privateKeyPath,
          hostKey: host.hostKey,
          toolstack: 'xl',
        },
      },
      simulator: { hosts: { idle: { toolstack: 'xl', domains: simDomains('idle', 1) } } },
    },
    { lineWidth: 0 },
  );
}
