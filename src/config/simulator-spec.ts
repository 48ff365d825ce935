import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';

const DomainSpec = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}$/),
  memoryMiB: z.number().int().positive(),
  vcpus: z.number().int().positive(),
  running: z.boolean(),
  configPath: z.string().startsWith('/').optional(),
  state: z
    .string()
    .regex(/^[r-][b-][p-][s-][-rscwS?][d-]$/)
    .optional(),
  consoleLines: z.array(z.string()).optional(),
  /** Starts with its host: a symlink /etc/xen/auto/NAME.cfg → its config file. */
  autostart: z.boolean().optional(),
  /**
   * xm hosts: xend manages it (`xm new`): while it does not run, `xm list` and `xm uptime` still show it, with a blank
   * ID (shared/xen-toolstack.md §1.2).
   */
  xendManaged: z.boolean().optional(),
  maxMemoryMiB: z.number().int().positive().optional(),
  /** The config's `cpus`: every vCPU pinned to these physical CPUs (the simulated hosts have 8: 0-7). */
  cpus: z
    .string()
    .regex(/^[0-7](?:-[0-7])?(?:,[0-7](?:-[0-7])?)*$/)
    .optional(),
  /** Its disks (default: phy:/dev/vg0/NAME-disk as xvda, rw), written to its config file as `kind:target,vdev,mode`. */
  disks: z
    .array(
      z.strictObject({
        target: z.string().regex(/^\/[A-Za-z0-9_./-]+$/),
        vdev: z.string().regex(/^xvd[a-p]$/),
        mode: z.enum(['w', 'r']).optional(),
        kind: z.enum(['phy', 'file']).optional(),
      }),
    )
    .optional(),
  /** Its vifs (default: one on xenbr0); a vif without a MAC gets one when the domain is created, as xl does. */
  vifs: z
    .array(
      z.strictObject({
        bridge: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,15}$/)
          .optional(),
        mac: z
          .string()
          .regex(/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/)
          .optional(),
        /** `ip=`: addresses separated by blanks. */
        ip: z
          .string()
          .regex(/^[0-9A-Fa-f.:/]+(?: [0-9A-Fa-f.:/]+)*$/)
          .optional(),
        script: z.enum(['vif-bridge', 'vif-route', 'vif-nat']).optional(),
      }),
    )
    .optional(),
});

/**
 * The simulated fleet (`simulator:` in config/demo.yaml): demo and tests only, never read by bot or agent. It lives
 * with the config (below the simulator) so the config schema can validate the section without importing the sim.
 */
export const SimFleetSpecSchema = z.strictObject({
  hosts: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/),
    z.strictObject({
      toolstack: z.enum(['xl', 'xm']).optional(),
      sudo: z.enum(['ok', 'password']).optional(),
      totalMemoryMiB: z.number().int().positive().optional(),
      migrateAddress: z.string().optional(),
      domains: z.array(DomainSpec),
    }),
  ),
});

/**
 * The `simulator:` section of a config file, read before the rest of the file can be validated (the rest
 * substitutes the simulator's ports and host keys). Every problem is listed with its path.
 */
export function loadSimFleetSpec(yamlText: string, source = 'config'): SimFleetSpecInput {
  const doc = parseYaml(yamlText) as { simulator?: unknown } | null;
  if (!doc?.simulator) throw new ConfigError(source, [{ path: 'simulator', message: 'no simulated fleet defined' }]);
  const result = SimFleetSpecSchema.safeParse(doc.simulator);
  if (!result.success)
    throw new ConfigError(
      source,
      result.error.issues.map((i) => ({ path: ['simulator', ...i.path].join('.'), message: i.message })),
    );
  return result.data;
}

export type SimFleetSpecInput = z.infer<typeof SimFleetSpecSchema>;
