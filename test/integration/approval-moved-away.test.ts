import { describe, expect, it } from 'vitest';
import { staleViewChat } from '../helpers/stack.ts';

/**
 * An approved stop whose guest left its host between the ask and the approval (a demo pass: mail, running on xen2,
 * was evacuated to xen1 meanwhile). The agent refused it as "mail was running and is not any more", and nothing more:
 * an operator read "mail is down", while it ran on xen1 the whole time. The refusal says where it runs now (where the
 * asker may act on it), or that it is no longer on the host at all — and nothing is stopped on either host.
 */
const chat = staleViewChat();
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';
const stops = (host: string) => chat.sent(host, /\b(shutdown|destroy)\b.*\bmail\b/);

/** mail running on xen2, moved there from xen1 by hand, and heard there by the bot. */
async function mailOnXen2(): Promise<void> {
  const fleet = chat.stack.sim.fleet;
  // The sim lists a running guest; a stopped one is only its config file.
  if (!fleet.findDomain(fleet.host('xen1'), 'mail')) expect(await chat.byHand('xen1', 'xl create /etc/xen/vm/mail.cfg')).toBe(0);
  expect(await chat.byHand('xen1', 'xl migrate mail xen2')).toBe(0);
  await chat.say('/list');
}

/** Asks for the stop as `asker`, moves mail to xen1 by hand, approves it as `approver`: the final reply's lines. */
async function stopMovedMeanwhile(asker: string, approver: string, after?: () => Promise<void>) {
  await mailOnXen2();
  const id = idOf(await chat.say(`@${asker} /stop mail --reason "escalation test"`));
  expect(id).toMatch(/^[A-Z2-9]{6}$/);
  expect(await chat.byHand('xen2', 'xl migrate mail xen1')).toBe(0);
  await after?.();
  const mark = chat.t.output().length;
  await chat.say(`@${approver} /approve ${id}`);
  // The reply is printed at once: its lines are those up to the next line typed (nothing else is printed meanwhile).
  const reply = await chat.printed(/✖ Could not stop [^\n]*\n(?:(?!> )[^\n]*\n)*/, mark);
  return { id, lines: reply.trimEnd().split('\n'), mark };
}

describe('an approved stop whose guest moved to another host before it ran', () => {
  it('GIVEN mail moved from xen2 to xen1 after alice asked (its stopped copy left on xen2) THEN the refusal says it runs on xen1 now, and nothing is stopped', async () => {
    const { id, lines } = await stopMovedMeanwhile('alice', 'bob');
    expect(lines).toEqual([
      '✖ Could not stop mail',
      `⚠ xen2: not found — mail was running and is not any more since approval ${id} was asked for: nothing was done — ask again if it is still needed`,
      'a guest of that name runs on xen1 now — /stop xen1:mail',
    ]);
    expect(stops('xen1')).toBe(0);
    expect(stops('xen2')).toBe(0);
  });

  it('GIVEN no copy of mail left on xen2 THEN the refusal says mail is no longer on xen2, not that it is down, and where it runs now', async () => {
    const { id, lines } = await stopMovedMeanwhile('alice', 'bob', async () => {
      expect(await chat.byHand('xen2', 'rm /etc/xen/vm/mail.cfg')).toBe(0);
    });
    expect(lines).toEqual([
      '✖ Could not stop mail',
      `⚠ xen2: not found — mail is no longer on xen2 (it was running there when approval ${id} was asked for): nothing was done — ask again if it is still needed`,
      'a guest of that name runs on xen1 now — /stop xen1:mail',
    ]);
    expect(stops('xen1')).toBe(0);
    expect(stops('xen2')).toBe(0);
  });

  it('GIVEN dave, who may act on xen2 only, asked THEN the refusal names no other host', async () => {
    const { id, lines, mark } = await stopMovedMeanwhile('dave', 'alice', async () => {
      expect(await chat.byHand('xen2', 'rm /etc/xen/vm/mail.cfg')).toBe(0);
    });
    expect(lines).toEqual([
      '✖ Could not stop mail',
      `⚠ xen2: not found — mail is no longer on xen2 (it was running there when approval ${id} was asked for): nothing was done — ask again if it is still needed`,
    ]);
    expect(chat.t.output().slice(mark)).not.toContain('xen1');
    expect(stops('xen1')).toBe(0);
    expect(stops('xen2')).toBe(0);
  });
});
