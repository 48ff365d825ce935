import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateClientKey, loadSimFleetSpec, startSimulator } from './index.ts';

/**
 * `xenops sim`: the simulated fleet as a standalone process, for running `xenops agent` against it. Writes the
 * client key and the variables config/demo.yaml substitutes (ports, pinned host keys) into the state dir.
 */
export async function runSimCli(argv: string[]): Promise<number> {
  const opt = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? (argv[i + 1] as string) : fallback;
  };
  const fleetPath = opt('--config', 'config/demo.yaml');
  const stateDir = opt('--state-dir', 'var/sim');
  const spec = loadSimFleetSpec(readFileSync(fleetPath, 'utf8'), fleetPath);
  mkdirSync(stateDir, { recursive: true });
  const key = generateClientKey();
  const keyPath = join(stateDir, 'client_ed25519');
  writeFileSync(keyPath, key.privateKey, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  const sim = await startSimulator({ fleet: spec, authorizedKeys: [key.publicKey] });
  const lines = [`XENOPS_SIM_CLIENT_KEY=${keyPath}`];
  for (const [name, h] of Object.entries(sim.hosts)) {
    const up = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    lines.push(`XENOPS_SIM_${up}_PORT=${h.port}`, `XENOPS_SIM_${up}_HOSTKEY=${h.hostKeyFingerprint}`);
  }
  writeFileSync(join(stateDir, 'sim.env'), `${lines.join('\n')}\n`);
  process.stdout.write(`${lines.join('\n')}\n# written to ${join(stateDir, 'sim.env')}; Ctrl-C stops the simulator\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await sim.stop();
  return 0;
}
