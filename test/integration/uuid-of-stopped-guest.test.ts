import { describe, expect, it } from 'vitest';
import { domainUuid } from '../../src/sim/model.ts';
import { demoChat } from '../helpers/stack.ts';

/**
 * A domain is found by the UUID of a running one only: a stopped domain's UUID is not in `xl list`. The UUID typed for
 * a stopped guest (mail, defined on xen1 with that UUID in its config file) must not be answered as if no such guest
 * existed: the refusal says why it was not found and how to name it.
 */
const chat = demoChat((c) => ({ ...c, alerts: { ...c.alerts, enabled: false } }));

describe('the UUID of a stopped guest', () => {
  it('GIVEN mail defined (stopped) on xen1 WHEN /start UUID-of-mail THEN the refusal says a stopped domain is found by its name', async () => {
    const uuid = domainUuid('mail');
    expect(chat.stack.sim.fleet.host('xen1').files.get('/etc/xen/vm/mail.cfg')).toContain(uuid);
    const out = await chat.say(`/start ${uuid}`);
    expect(out).toBe(
      `> /start ${uuid}\n✖ Cannot do that\nno domain with UUID ${uuid} on xen1, xen2 — a stopped domain's UUID is not in xl list: name it\n`,
    );
    expect(chat.sent('xen1', /\bcreate\b/)).toBe(0);
  });
});
