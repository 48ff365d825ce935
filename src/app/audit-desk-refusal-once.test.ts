import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { demoChat } from '../../test/helpers/stack.ts';

/**
 * A refusal a local command makes in its own run is recorded by the request handler unless what it asked recorded the
 * attempt itself: the approval desk records under the approved request's id, `by` the one who decided — so a refused
 * /approve is on record once, an approval accepted and then not run is no refused /approve, and an entry whose words
 * name a host is about it (a reader scoped to another host never reads it).
 */
const chat = demoChat((c) => ({
  ...c,
  roles: { ...c.roles, 'xen2-auditor': { allow: [{ permission: 'audit.read', hosts: ['xen2'], domains: ['*'] }], deny: [] } },
  people: { ...c.people, erin: { roles: ['xen2-auditor'], identities: { terminal: 'erin' }, onCall: false } },
}));
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';
type Entry = Record<string, unknown>;
const entries = (): Entry[] =>
  readFileSync(chat.stack.auditFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Entry);

describe('a refusal the approval desk records itself', () => {
  it('is on record once for a refused /approve', async () => {
    const id = idOf(await chat.say('@alice /stop web'));
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    expect(await chat.say(`@carol /approve ${id}`)).toContain('Not allowed');
    // Written after it: a second refusal entry would be in the file by now.
    await chat.say('@carol /whoami');
    await expect.poll(() => entries().filter((e) => e['command'] === 'whoami').length).toBeGreaterThan(0);
    const carolsRefusals = entries().filter(
      (e) => e['decision'] === 'rejected' && (e['by'] === 'carol' || (e['person'] === 'carol' && e['command'] === 'approve')),
    );
    await chat.say(`@alice /deny ${id}`);
    // One attempt to approve, refused once: the desk's entry (by carol, about stop xen1:web).
    expect(carolsRefusals.map((e) => `${e['event']} ${e['command']} ${e['detail']}`)).toHaveLength(1);
  });

  it('does not record an approval accepted, then not run, as a refused /approve readable off its host', async () => {
    const id = idOf(await chat.say('@alice /stop web'));
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    expect(await chat.say('@alice /freeze xen1 1h secret-patching')).toContain('Frozen');
    expect(await chat.say(`@bob /approve ${id}`)).toMatch(/approved but did not run|Approved, but not run/);
    await expect.poll(() => entries().filter((e) => String(e['detail']).includes('approved but not run')).length).toBe(1);
    await chat.say('@bob /whoami');
    await expect.poll(() => entries().filter((e) => e['command'] === 'whoami' && e['person'] === 'bob').length).toBeGreaterThan(0);
    // Bob's approval was accepted (an allowed entry by bob): his /approve is not a refused request.
    expect(entries().filter((e) => e['by'] === 'bob' && e['decision'] === 'allowed')).toHaveLength(1);
    expect.soft(entries().filter((e) => e['command'] === 'approve' && e['person'] === 'bob' && e['decision'] === 'rejected')).toEqual([]);
    // Erin reads the audit of xen2 only: nothing about xen1's freeze.
    const seen = await chat.say('@erin /audit 50');
    await chat.say('@alice /unfreeze xen1');
    expect.soft(seen).not.toContain('secret-patching');
    expect.soft(seen).not.toContain('xen1');
  });
});

describe('a guest refused before it was looked up', () => {
  it('is not read by a reader scoped to the host typed beside it (README: on no host)', async () => {
    // carol (viewer) may not migrate anything: refused before web is looked up (it runs on xen1).
    expect(await chat.say('@carol /migrate web xen2')).toContain('Not allowed');
    await expect.poll(() => entries().filter((e) => e['command'] === 'migrate' && e['decision'] === 'rejected').length).toBe(1);
    // The same refusal of /stop web is hidden from erin; naming xen2 as where it was to go shows it to her.
    const seen = await chat.say('@erin /audit 50 command:migrate');
    expect(seen).not.toContain('web');
  });
});
