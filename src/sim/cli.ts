import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateClientKey, loadSimFleetSpec, startSimulator } from './index.ts';

/**
 * `xenops sim`: the simulated fleet as a standalone process, for running `xenops agent` against it. Writes the
 * client key and the variables config/demo.yaml substitutes (ports, pinned host keys) into the state dir, plus
 * XENOPS_SIM_CONTROL_URL: the HTTP control interface on 127.0.0.1 (`--control-port N`, default 0 = a free port).
 */
export async function runSimCli(argv: string[]): Promise<number> {
  const opt = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? (argv[i + 1] as string) : fallback;
  };
  const fleetPath = opt('--config', 'config/demo.yaml');
  const stateDir = opt('--state-dir', 'var/sim');
  const controlPort = Number(opt('--control-port', '0'));
  if (!Number.isInteger(controlPort) || controlPort < 0 || controlPort > 65535) {
    process.stderr.write(`xenops sim: --control-port must be a port number (0 = any free port)\n`);
    return 1;
  }
  const spec = loadSimFleetSpec(readFileSync(fleetPath, 'utf8'), fleetPath);
  mkdirSync(stateDir, { recursive: true });
  const key = generateClientKey();
  const keyPath = join(stateDir, 'client_ed25519');
  writeFileSync(keyPath, key.privateKey, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  const sim = await startSimulator({ fleet: spec, authorizedKeys: [key.publicKey], controlPort });
  const lines = [`XENOPS_SIM_CLIENT_KEY=${keyPath}`];
  for (const [name, h] of Object.entries(sim.hosts)) {
    const up = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    lines.push(`XENOPS_SIM_${up}_PORT=${h.port}`, `XENOPS_SIM_${up}_HOSTKEY=${h.hostKeyFingerprint}`);
  }
  if (sim.control) lines.push(`XENOPS_SIM_CONTROL_URL=${sim.control.url}`);
  // Written whole and renamed into place, so a reader never sees half a file.
  writeFileSync(join(stateDir, 'sim.env.tmp'), `${lines.join('\n')}\n`);
  renameSync(join(stateDir, 'sim.env.tmp'), join(stateDir, 'sim.env'));
  process.stdout.write(`${lines.join('\n')}\n# written to ${join(stateDir, 'sim.env')}; Ctrl-C stops the simulator\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await sim.stop();
  return 0;
}
