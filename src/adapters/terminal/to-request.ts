import { echoValue } from '../../core/args.ts';
import type { ChatRequest } from '../../core/request.ts';

/** What one terminal line is: a request, a hint for a line that cannot be one, or nothing at all. */
export type TerminalLine = { kind: 'request'; request: ChatRequest } | { kind: 'hint'; text: string } | { kind: 'nothing' };

const SLASH_HINT = 'type a command after the slash, e.g. /list — /help lists what you can run';
const AT_HINT = 'to speak as someone else, write their name after the @, e.g. "@bob /list"';

/**
 * One terminal line. With `speakAs` (terminal.speakAs, the demo's), `@bob /stop web` speaks as bob; without it such a
 * line is refused with a hint (one person at a terminal could otherwise approve their own request as another). A
 * line without the prefix speaks as the default user. Blank lines and `#` comments are nothing; a bare `/`, `/ list`
 * or a bare `@bob` get a hint instead of becoming a request for a command named "/" or "@bob" (a hint is not a
 * request: nothing is audited).
 */
export function readTerminalLine(line: string, defaultUser: string, id: string, now = Date.now(), speakAs = false): TerminalLine {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { kind: 'nothing' };
  const speaker = /^@([^\s/]*)\s*([\s\S]*)$/.exec(trimmed);
  if (speaker && !speakAs)
    return { kind: 'hint', text: `you are ${cut(defaultUser)} here: speaking as someone else (@name) is off (terminal.speakAs)` };
  if (speaker && speaker[1] === '') return { kind: 'hint', text: AT_HINT };
  const user = speaker ? (speaker[1] as string) : defaultUser;
  const rest = speaker ? (speaker[2] ?? '') : trimmed;
  if (rest === '') {
    const name = cut(user);
    return { kind: 'hint', text: `@${name} what? write "@${name} /list" to speak as ${name}` };
  }
  if (rest === '/') return { kind: 'hint', text: SLASH_HINT };
  const spaced = /^\/\s+(\S[\s\S]*)$/.exec(rest);
  if (spaced) return { kind: 'hint', text: `no space after the slash: write ${echoValue(`/${spaced[1]}`)}` };
  const m = /^\/?(\S+)(?:\s+([\s\S]*))?$/.exec(rest);
  if (!m) return { kind: 'nothing' };
  return {
    kind: 'request',
    request: {
      id,
      platform: 'terminal',
      actor: { platform: 'terminal', userId: user, roleIds: [], displayName: user },
      channel: { id: 'terminal', kind: 'direct', name: 'terminal' },
      command: (m[1] as string).toLowerCase(),
      args: { kind: 'text', text: m[2]?.trim() ?? '' },
      receivedAt: now,
      source: 'command',
    },
  };
}

/** The request a terminal line makes, or null (nothing, or a line that only deserves a hint). */
export function lineToRequest(line: string, defaultUser: string, id: string, now = Date.now(), speakAs = false): ChatRequest | null {
  const read = readTerminalLine(line, defaultUser, id, now, speakAs);
  return read.kind === 'request' ? read.request : null;
}

/** A name echoed in a hint: at most 40 characters. */
function cut(s: string): string {
  return echoValue(s).slice(1, -1);
}
