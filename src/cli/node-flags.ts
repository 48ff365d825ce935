/**
 * The V8 flags bot and agent run with in production (the Dockerfile's ENTRYPOINT and the systemd units' ExecStart;
 * test/deploy.test.ts keeps them in step, and the bench starts its processes with them).
 *
 * Why a heap limit: V8's default follows the machine's RAM (4 GiB on a 24 GiB box), and with a limit of 2 GiB or more
 * it lets the old generation grow to up to 4× what is live after a full collection; with 1 GiB, to ~1.6×. Measured
 * at 1,000 hosts (20 domains each, sampling every 5 s): the agent, ~110 MiB live, at 360–440 MiB RSS without it and
 * 262 MiB with it; the bot, ~35 MiB live, 270–300 and 159 MiB. 1 GiB is ten times what an agent of 1,000 hosts holds:
 * raise it for an agent of more than about 5,000 hosts.
 */
export const PRODUCTION_NODE_FLAGS: readonly string[] = ['--max-old-space-size=1024'];
