import { version as bullmqVersion } from 'bullmq/dist/esm/version.js';
import { OPS } from './ops.ts';

/**
 * BullMQ's scripts, rewritten so that a read's job announces nothing on its host's event stream but how it ended.
 * Every event wakes each bot's blocking read of the host's stream (job-events.ts), and of a read's five events only
 * "completed" (or "failed") is of use: its "added" and "waiting" (the bot's own MULTI) and its "active" (the agent's
 * look) cost every /list two wake-ups of the bot, a parse and a new read each. A mutation's events are all written,
 * and its start is audited. A job's name is its op (JobQueues adds it so), which is how the scripts tell the two apart.
 */

/** The ops whose jobs are not announced: those that change nothing. */
export const UNANNOUNCED_OPS: readonly string[] = Object.entries(OPS).flatMap(([op, spec]) => (spec.mutates ? [] : [op]));

/**
 * The one line of prepareJobForProcessing that announces a start; jobKey in scope. It is in every script that hands out
 * a job: moveToActive, and moveToFinished and moveToDelayed (which fetch the Worker's next one).
 */
const ACTIVE_EVENT = 'rcall("XADD", eventStreamKey, "*", "event", "active", "jobId", jobId, "prev", "waiting")';
/** addStandardJob's two announcements: in storeJob (`name` in scope), and at its end (the name is args[3]). */
const ADDED_EVENT = 'rcall("XADD", eventsKey, "*", "event", "added", "jobId", jobId, "name", name)';
const WAITING_EVENT = `rcall("XADD", eventsKey, "MAXLEN", "~", maxEvents, "*", "event", "waiting",
      "jobId", jobId)`;

/** moveToActive, moveToFinished or moveToDelayed, with a job's "active" event written only when its name is not in `names`. */
export function withoutStartEvents(content: string, names: readonly string[]): string {
  return guarded(content, ACTIVE_EVENT, names, 'rcall("HGET", jobKey, "name")');
}

/** addStandardJob, with a job's "added" and "waiting" events written only when its name is not in `names`. */
export function withoutAddEvents(content: string, names: readonly string[]): string {
  return guarded(guarded(content, ADDED_EVENT, names, 'name'), WAITING_EVENT, names, 'args[3]');
}

/**
 * The script with `line` run only when `nameExpr` is not one of `names`. A BullMQ whose script no longer has the line
 * once fails here, at start-up, rather than announce every job unnoticed.
 */
function guarded(content: string, line: string, names: readonly string[], nameExpr: string): string {
  if (names.length === 0) return content;
  const at = content.indexOf(line);
  if (at < 0 || content.indexOf(line, at + 1) >= 0)
    throw new Error(`BullMQ ${bullmqVersion}: its scripts no longer announce a job's events as xenops expects`);
  const set = names.map((n) => `[${luaString(n)}] = true`).join(', ');
  return `${content.slice(0, at)}if not ({${set}})[${nameExpr}] then ${line} end${content.slice(at + line.length)}`;
}

function luaString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
