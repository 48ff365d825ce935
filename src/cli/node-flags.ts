/**
 * The V8 flags bot and agent run with in production (the Dockerfile's ENTRYPOINT, the compose agent's entrypoint and
 * the systemd units' ExecStart; test/deploy.test.ts keeps them in step, and the bench starts its processes with them).
 *
 * Why a heap limit: V8's default follows the machine's RAM (4 GiB on a 24 GiB box), and with a limit of 2 GiB or more
 * it lets the old generation grow to up to 4× what is live after a full collection; with 1 GiB, to ~1.6×. Measured
 * at 1,000 hosts (20 domains each, sampling every 5 s): the agent, ~110 MiB live, at 360–440 MiB RSS without it and
 * 262 MiB with it; the bot, ~35 MiB live, 270–300 and 159 MiB. 1 GiB is ten times what an agent of 1,000 hosts holds:
 * raise it for an agent of more than about 5,000 hosts.
 */
export const PRODUCTION_NODE_FLAGS: readonly string[] = ['--max-old-space-size=1024'];

/**
 * The agent's: a young generation of 2 × 8 MiB, not V8's 2 × 16. V8 grows it under load, and at rest with 1,000 hosts
 * (sampling every 5 s) it still held 32 MiB there for ~5 MiB in use. Measured in turns at 1,000 hosts: RSS at rest 249–254 → 227–229 MiB; the
 * price is more young collections under load (at 1,500 /list a second ~+45–55 µs of the agent's CPU per job, ~+15 %;
 * at 12 MiB half of both). The bot keeps V8's default (below).
 */
export const AGENT_NODE_FLAGS: readonly string[] = [...PRODUCTION_NODE_FLAGS, '--max-semi-space-size=8'];

/**
 * The agent's environment: glibc's malloc with one arena (`MALLOC_ARENA_MAX=1`) instead of one per thread that
 * allocates (up to 8 × cores; the main thread's and V8's four workers' here), each keeping memory it freed. Measured in
 * turns at 1,000 hosts (sampling every 5 s), at rest after /status runs: malloc's memory (brk heap and arenas, from
 * /proc/PID/smaps) 42–47 → 25–26 MiB, RSS 246–254 → 231–232 MiB (2 arenas: 31–34 and 222–242); the agent's CPU for 15
 * /status of 1,000 hosts 14.4–15.5 → 13.1–13.4 s, at rest 8.5–12.9 → 7.9–9.3 %. glibc reads it when the process
 * starts, so it is set where the agent is started: its unit's `Environment=`, its compose service's `environment:`
 * (test/deploy.test.ts keeps them in step; the bench starts its agent with it).
 */
export const AGENT_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

/** The environment a process of this role runs with in production, beyond its config's variables. */
export function productionEnv(role: string): Readonly<Record<string, string>> {
  return role === 'agent' ? AGENT_ENV : {};
}

/**
 * The bot's: `--expose-gc`, for its idle collector (src/app/idle-collector.ts), which runs one compacting full
 * collection when the bot goes quiet after work. Without it V8 kept a burst's memory at rest by luck: 45 s after
 * 10,000 /list, 121-127 MiB RSS (a young generation of 32 MiB for 3-11 in use, and the burst's promoted garbage)
 * against 83-88 before them; the growth row read +10.2, +41.7 and -15.5 % in turns against +1.5, +3.6, -2.8 % with it.
 * Its young generation stays V8's default size: its CPU is the throughput's largest share.
 */
export const BOT_NODE_FLAGS: readonly string[] = [...PRODUCTION_NODE_FLAGS, '--expose-gc'];

/** node's flags for a process of this role as production runs it (the bench starts its processes with them). */
export function productionNodeFlags(role: string): readonly string[] {
  if (role === 'agent') return AGENT_NODE_FLAGS;
  return role === 'bot' ? BOT_NODE_FLAGS : PRODUCTION_NODE_FLAGS;
}
