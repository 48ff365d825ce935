import type { ChatRequest } from '../../core/request.ts';

/**
 * One terminal line → a request. `@bob /stop web` speaks as bob; a line without the prefix speaks as the
 * default user. Blank lines and `#` comments are not requests.
 */
export function lineToRequest(line: string, defaultUser: string, id: string, now = Date.now()): ChatRequest | null {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return null;
  const m = /^(?:@(\S+)\s+)?\/?(\S+)(?:\s+([\s\S]*))?$/.exec(trimmed);
  if (!m) return null;
  const user = m[1] ?? defaultUser;
  const command = (m[2] ?? '').toLowerCase();
  return {
    id,
    platform: 'terminal',
    actor: { platform: 'terminal', userId: user, roleIds: [], displayName: user },
    channel: { id: 'terminal', kind: 'direct', name: 'terminal' },
    command,
    args: { kind: 'text', text: m[3]?.trim() ?? '' },
    receivedAt: now,
    source: 'command',
  };
}
