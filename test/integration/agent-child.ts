/**
 * An agent in a process of its own, for agent-process.test.ts: it can be SIGKILLed (a real death: no close, no final
 * heartbeat, its BullMQ lock simply stops being renewed) or SIGTERMed (close() within its grace). Started with
 * `node --import tsx test/integration/agent-child.ts`; XENOPS_TEST_AGENT holds { config, redisUrl, prefix, timings }.
 * Prints `ready <agentId>` once its workers listen, and `closed <ms>` after a SIGTERM close.
 */
import { type AgentTimings, startAgent } from '../../src/agent/agent.ts';
import { SshPool } from '../../src/agent/ssh/pool.ts';
import { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/log.ts';

const spec = JSON.parse(process.env['XENOPS_TEST_AGENT'] ?? '{}') as {
  config: unknown;
  redisUrl: string;
  prefix: string;
  timings?: Partial<AgentTimings>;
};
const config = Config.parse(spec.config);
const logger = createLogger(process.env['XENOPS_TEST_AGENT_LOG'] ?? 'silent');
const pool = new SshPool({ hosts: config.hosts, defaults: config.ssh, logger });
const agent = await startAgent({
  config,
  runner: pool,
  connection: spec.redisUrl,
  prefix: spec.prefix,
  logger,
  ...(spec.timings ? { timings: spec.timings } : {}),
});
process.once('SIGTERM', () => {
  const t0 = Date.now();
  void agent
    .close()
    .then(() => pool.close())
    .then(() => {
      process.stdout.write(`closed ${Date.now() - t0}\n`);
      process.exit(0);
    });
});
process.stdout.write(`ready ${agent.agentId}\n`);
