import type { ReplyTarget } from '../../src/adapters/types.ts';
import type { Platform } from '../../src/config/schema.ts';
import type { ChatRequest } from '../../src/core/request.ts';

/** A chat request as an adapter would make it from `text` (`stop web --force`), for in-process bot tests. */
export function chatRequest(id: string, text: string, user = 'alice', platform: Platform = 'terminal', userId = user): ChatRequest {
  const [command = '', ...rest] = text.split(' ');
  return {
    id,
    platform,
    actor: { platform, userId, roleIds: [], displayName: user },
    channel: { id: platform === 'terminal' ? 'terminal' : '-100', kind: 'direct' },
    command,
    args: { kind: 'text', text: rest.join(' ') },
    receivedAt: Date.now(),
    source: 'command',
  };
}

/** Where the replies to a request go (a fresh target: the first delivery posts). */
export function targetOf(req: ChatRequest): ReplyTarget {
  return { platform: req.platform, channelId: req.channel.id, requestId: req.id, state: {} };
}
