import { describe, expect, it } from 'vitest';
import { reply } from '../../core/reply.ts';
import { alertText, cutAlertText, TELEGRAM_ALERT_LIMIT } from './render.ts';

describe('alertText and cutAlertText (a private answer to a click, as its alert)', () => {
  it('is the whole reply as plain text when it fits, with its mark and title first', () => {
    expect(alertText(reply.notAllowed('dave may not run /stop on xen1, so may not approve it there'))).toBe(
      '⛔ Not allowed\ndave may not run /stop on xen1, so may not approve it there',
    );
    expect(alertText(reply.result('Approved K7Q2XM', [reply.fields([{ name: 'runs', value: '/stop xen1:web' }])]))).toBe(
      '✅ Approved K7Q2XM\nruns: /stop xen1:web',
    );
  });

  it('is null when an alert cannot be the whole reply: too long, files, buttons', () => {
    expect(alertText(reply.error('x', 'y'.repeat(TELEGRAM_ALERT_LIMIT)))).toBeNull();
    expect(alertText({ ...reply.error('x', 'y'), attachments: [{ name: 'a.txt', contentType: 'text/plain', data: 'a' }] })).toBeNull();
    expect(alertText({ ...reply.error('x', 'y'), actions: [{ id: 'a', label: 'Retry', style: 'primary' }] })).toBeNull();
  });

  it('cuts what does not fit before its tail, within the limit, never inside a surrogate pair', () => {
    const tail = '\n(cut: open @xenops_bot)';
    const cut = cutAlertText(reply.error('Bad arguments', 'z'.repeat(400)), tail);
    expect(cut.length).toBe(TELEGRAM_ALERT_LIMIT);
    expect(cut.endsWith(`z…${tail}`)).toBe(true);
    for (let pad = 0; pad < 4; pad++) {
      const emoji = cutAlertText(reply.error('E', `${'a'.repeat(pad)}${'😀'.repeat(150)}`), tail);
      expect(emoji.length).toBeLessThanOrEqual(TELEGRAM_ALERT_LIMIT);
      expect(emoji).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    }
    expect(cutAlertText(reply.error('short', 'fits'), tail)).toBe(`⛔ short\nfits${tail}`);
  });
});
