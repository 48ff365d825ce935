import type { ReplyTarget } from '../types.ts';

type State = ReplyTarget['state'];

/**
 * Whether a private answer for this target has someone to be private to: the target answers an interaction (it has
 * a token, or the asker's id). Scheduled posts and alerts have no asker: their errors are for the channel, as before.
 */
export function answersSomeone(s: State): boolean {
  return typeof s['userId'] === 'string' || (typeof s['token'] === 'string' && s['token'] !== '');
}

/**
 * Set once a target's answer went to the asker's direct messages (or could not go anywhere private): every later
 * delivery for the target follows it there, so no update of the same request turns up in the channel, and none edits
 * the note the channel got.
 */
export function answeredPrivately(s: State): boolean {
  return s['private'] === true;
}

/**
 * What the channel is told instead of a private answer: who it is for and which command, never the answer. `sent`:
 * it went to a direct message; otherwise it could not be delivered at all. Mentions the asker alone (or nobody, for
 * a target kept from before the asker's id was recorded).
 */
export function privateNote(s: State, sent: boolean): string {
  const userId = typeof s['userId'] === 'string' ? s['userId'] : null;
  const command = typeof s['command'] === 'string' ? `/${s['command']}` : null;
  if (!userId) return `The answer to ${command ?? 'a request'} is private and could not be delivered; it is not shown here.`;
  const what = `the answer to your ${command ?? 'button click'}`;
  return sent
    ? `<@${userId}>: ${what} was sent to you in a direct message.`
    : `<@${userId}>: ${what} is for you only and could not be delivered privately (xenops cannot send you a direct message); it is not shown here.`;
}
