import { afterEach, beforeEach, vi } from 'vitest';
import { freeze } from '../../commands/freeze.ts';
import type { LocalContext } from '../../src/core/define-command.ts';
import { type Reply, reply } from '../../src/core/reply.ts';

export interface FreezeCall {
  hosts: string[];
  until: Date | null;
  reason: string;
}

/**
 * /freeze run on its own against a freezes desk in `zone` that knows `hosts`: each freeze it is asked for is kept in
 * `calls` (emptied before each test) and answered "Frozen". Only Date is faked (the command reads the time with
 * Date.now() and new Date()), at 2026-12-07T10:00:00Z before each test. Call it at the top of a test file.
 */
export function freezeDesk(
  zone: string,
  hosts: readonly string[],
): { calls: FreezeCall[]; run(hosts: string, reason: string): Promise<Reply> } {
  const calls: FreezeCall[] = [];
  const ctx = {
    // The shared clock the bot gives a command; here the (faked) Date.
    now: () => Date.now(),
    freezes: {
      zone,
      freeze: async (hosts: string[], until: Date | null, reason: string) => {
        calls.push({ hosts, until, reason });
        return reply.result('Frozen');
      },
      unfreeze: async () => reply.result('Unfrozen'),
      isHost: (name: string) => hosts.includes(name),
    },
  } as unknown as LocalContext;
  beforeEach(() => {
    calls.length = 0;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-07T10:00:00Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  return {
    calls,
    async run(hosts, reason) {
      const args = freeze.args.parse({ hosts, reason });
      return freeze.run(args as never, ctx) as Promise<Reply>;
    },
  };
}
