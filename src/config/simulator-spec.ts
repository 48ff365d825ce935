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
